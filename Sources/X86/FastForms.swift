// Decode-time specialization (performance.md §1, "decode once"): the
// decoder recognizes the forms compiled code is made of — 32-bit ALU and MOV
// between registers, immediates and memory, PUSH/POP, CALL/RET, Jcc, INC/DEC,
// shifts by a constant, LEA, IMUL — and tags them with a `Fast` case whose
// executor (ExecFast.swift) touches registers directly, with no operand
// routing and no size switch.  Nothing here names an opcode: the form is
// derived from the opcode-table row's `Op` and from where the decoder put the
// operands (`Loc`), so a row added to OpcodeRows.swift is specialized, or
// left generic, by the same rules.  Everything else runs through `Op`.

/// The executor's specialized forms.  R = register, I = immediate, M =
/// memory (32-bit addressing); the destination comes first.  The eight ALU
/// operations are listed in `Op` order in each group, so that a form is its
/// group's first case plus the operation's distance from ADD.
public enum Fast: UInt8, Sendable {
    case generic
    case addRR, orRR, adcRR, sbbRR, andRR, subRR, xorRR, cmpRR
    case addRI, orRI, adcRI, sbbRI, andRI, subRI, xorRI, cmpRI
    case addRM, orRM, adcRM, sbbRM, andRM, subRM, xorRM, cmpRM
    case addMR, orMR, adcMR, sbbMR, andMR, subMR, xorMR, cmpMR
    case addMI, orMI, adcMI, sbbMI, andMI, subMI, xorMI, cmpMI
    case testRR, testRI, testMR, testMI
    case movRR, movRI, movRM, movMR, movMI
    /// MOVZX/MOVSX r32 from a byte or word in memory.
    case movzxM8, movsxM8, movzxM16, movsxM16
    case lea
    case pushR, pushI, popR
    case incR, decR
    /// Shifts and rotates of a register by an immediate whose count, masked to 5 bits, is not zero.
    case shlRI, shrRI, sarRI, rolRI, rorRI
    /// IMUL r32, r32, imm and IMUL r32, r32.
    case imulRRI, imulRR
    /// Byte forms; `r1`/`r2` hold the register's byte offset in the register file (see `specialize`).
    case movRR8, movRI8, movRM8, movMR8, movMI8
    case cmpRR8, cmpRI8, cmpRM8, cmpMR8, cmpMI8
    case testRR8, testRI8, testMI8
    /// ADD OR ADC SBB AND SUB XOR on bytes; the operation is the instruction's `op`.
    case aluRR8, aluRI8, aluRM8, aluMR8, aluMI8
    /// MOVZX/MOVSX r32 from a byte or word register (`r2` a byte offset for the byte forms).
    case movzxR8, movsxR8, movzxR16, movsxR16
    case jmp, call, ret
    /// RET imm16, LEAVE, PUSH m32.
    case retI, leave, pushM
    /// CALL and JMP through a register or a dword in memory.
    case callR, callM, jmpR, jmpM
    /// SETcc r8 (`r1` a byte offset) and SETcc m8; CMOVcc r32 from a register or memory.
    case setccR, setccM, cmovRR, cmovRM
    /// A RET inside a trace (made by the block builder, Run.swift): the
    /// block goes on only if it returns to EIP + `imm2`.
    case retGuarded
    /// LOOP with ECX as the counter (32-bit address size).
    case loop
    /// JECXZ (32-bit address size): a branch that leaves EFLAGS alone, which
    /// `bt`'s return lookup relies on (BTReturns.swift).
    case jecxz
    /// Jcc, one case per condition in opcode order (SDM Vol. 1 Table B-1).
    case jo, jno, jb, jnb, jz, jnz, jbe, ja, js, jns, jp, jnp, jl, jge, jle, jg
}

extension Decoder {
    /// Where a decoded operand lives, for specialization.
    private enum Place { case none, register(UInt8), immediate, memory }

    private static func place(_ loc: Loc, _ ins: Instr) -> Place {
        switch loc {
        case .none: return .none
        case .reg: return .register(ins.reg)
        case .imm: return .immediate
        case .rm: return ins.mod == 3 ? .register(ins.rm) : .memory
        }
    }

    /// Picks the fast form of a decoded instruction and resolves its register
    /// operands into `r1` (destination) and `r2` (source); leaves `.generic`
    /// when none applies.  Only 32-bit operand and address sizes qualify:
    /// other widths keep the generic path's size handling.
    static func specialize(_ ins: inout Instr) {
        guard !ins.asize16 else { return }
        if ins.osize == 1 { specializeByte(&ins); return }
        guard ins.osize == 4 else { return }
        let d = place(ins.dst, ins), s = place(ins.src, ins)
        func set(_ f: Fast, _ r1: UInt8 = 0, _ r2: UInt8 = 0) { ins.fast = f; ins.r1 = r1; ins.r2 = r2 }
        switch ins.op {
        case .add, .or, .adc, .sbb, .and, .sub, .xor, .cmp:
            let k = ins.op.rawValue - Op.add.rawValue
            func alu(_ group: Fast, _ r1: UInt8 = 0, _ r2: UInt8 = 0) { set(Fast(rawValue: group.rawValue + k)!, r1, r2) }
            switch (d, s) {
            case let (.register(a), .register(b)): alu(.addRR, a, b)
            case let (.register(a), .immediate): alu(.addRI, a)
            case let (.register(a), .memory): alu(.addRM, a)
            case let (.memory, .register(b)): alu(.addMR, 0, b)
            case (.memory, .immediate): alu(.addMI)
            default: break
            }
        case .test:
            switch (d, s) {
            case let (.register(a), .register(b)): set(.testRR, a, b)
            case let (.register(a), .immediate): set(.testRI, a)
            case let (.memory, .register(b)): set(.testMR, 0, b)
            case (.memory, .immediate): set(.testMI)
            default: break
            }
        case .mov:
            switch (d, s) {
            case let (.register(a), .register(b)): set(.movRR, a, b)
            case let (.register(a), .immediate): set(.movRI, a)
            case let (.register(a), .memory): set(.movRM, a)
            case let (.memory, .register(b)): set(.movMR, 0, b)
            case (.memory, .immediate): set(.movMI)
            default: break
            }
        case .movzx, .movsx:
            guard case let .register(a) = d else { break }
            let zero = ins.op == .movzx, byte = ins.cond == 1
            switch s {
            case .memory: set(byte ? (zero ? .movzxM8 : .movsxM8) : (zero ? .movzxM16 : .movsxM16), a)
            case let .register(b):
                if byte { set(zero ? .movzxR8 : .movsxR8, a, byteOffset(b)) } else { set(zero ? .movzxR16 : .movsxR16, a, b) }
            default: break
            }
        case .lea:
            if case let .register(a) = d, ins.mod != 3 { set(.lea, a) }
        case .push:
            switch d {
            case let .register(a): set(.pushR, a)
            case .immediate: set(.pushI)
            case .memory: set(.pushM)
            default: break
            }
        case .pop:
            if case let .register(a) = d { set(.popR, a) }
        case .inc, .dec:
            if case let .register(a) = d { set(ins.op == .inc ? .incR : .decR, a) }
        case .shl, .sal, .shr, .sar, .rol, .ror:
            // A masked count of 0 changes nothing, not even flags: left to the generic path.
            guard case let .register(a) = d, case .immediate = s, ins.imm & 0x1F != 0 else { break }
            switch ins.op {
            case .shl, .sal: set(.shlRI, a)
            case .shr: set(.shrRI, a)
            case .sar: set(.sarRI, a)
            case .rol: set(.rolRI, a)
            default: set(.rorRI, a)
            }
        case .imul:
            // Three-operand IMUL keeps its immediate in imm2 (`cond` = 1); the r/m is operand two.
            guard case let .register(a) = d, ins.mod == 3 else { break }
            set(ins.cond == 1 ? .imulRRI : .imulRR, a, ins.rm)
        case .jmp: set(.jmp)
        case .call: set(.call)
        case .ret: set(ins.dst == .none ? .ret : .retI)
        case .leave: set(.leave)
        case .callIndirect, .jmpIndirect:
            let call = ins.op == .callIndirect
            if case let .register(a) = d { set(call ? .callR : .jmpR, a) } else if case .memory = d { set(call ? .callM : .jmpM) }
        case .cmovcc:
            if case let .register(a) = d {
                if case let .register(b) = s { set(.cmovRR, a, b) } else if case .memory = s { set(.cmovRM, a) }
            }
        case .jcc: set(Fast(rawValue: Fast.jo.rawValue + ins.cond)!)
        case .loop: set(.loop)
        case .jecxz: set(.jecxz)
        default: break
        }
    }

    /// Where byte register `r` (AL CL DL BL AH CH DH BH) lies in the register
    /// file, in bytes: AL..BL are the low bytes of EAX..EBX, AH..BH the
    /// second bytes (the host is little-endian, as x86-64 and arm64 are).
    static func byteOffset(_ r: UInt8) -> UInt8 { (r & 3) * 4 + (r >> 2) }

    /// The byte forms of MOV, the ALU operations and TEST, and SETcc.
    private static func specializeByte(_ ins: inout Instr) {
        let d = place(ins.dst, ins), s = place(ins.src, ins)
        func set(_ f: Fast, _ r1: UInt8 = 0, _ r2: UInt8 = 0) {
            ins.fast = f; ins.r1 = byteOffset(r1); ins.r2 = byteOffset(r2)
        }
        if ins.op == .setcc {
            switch d {
            case let .register(a): set(.setccR, a)
            case .memory: set(.setccM)
            default: break
            }
            return
        }
        let forms: [Fast]
        switch ins.op {
        case .mov: forms = [.movRR8, .movRI8, .movRM8, .movMR8, .movMI8]
        case .cmp: forms = [.cmpRR8, .cmpRI8, .cmpRM8, .cmpMR8, .cmpMI8]
        case .test: forms = [.testRR8, .testRI8, .generic, .generic, .testMI8]
        case .add, .or, .adc, .sbb, .and, .sub, .xor: forms = [.aluRR8, .aluRI8, .aluRM8, .aluMR8, .aluMI8]
        default: return
        }
        switch (d, s) {
        case let (.register(a), .register(b)): set(forms[0], a, b)
        case let (.register(a), .immediate): set(forms[1], a)
        case let (.register(a), .memory): set(forms[2], a)
        case let (.memory, .register(b)): set(forms[3], 0, b)
        case (.memory, .immediate): set(forms[4])
        default: break
        }
    }
}
