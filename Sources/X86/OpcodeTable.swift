// The one opcode table: every encoding Ringside knows, written once as data.
// The decoder builds its lookup lists from it, the disassembler prints from
// it, the executor switches over `Op`, and monitors, the translator and the
// debugger read `Traits`.  Nobody keeps a private list of opcodes.

/// Operand codes in Intel SDM Vol. 2 Appendix A spelling.
///  E = ModRM r/m (register or memory), G = ModRM reg, I = immediate,
///  J = relative offset, M = memory only, O = moffs, S = segment register
///  (reg field), C/D = control/debug register (reg field), R = r/m must be a
///  register, X/Y = DS:eSI / ES:eDI string operands, Z = register in the low
///  three opcode bits, A = far pointer immediate.  Sizes: b byte, w word,
///  d dword, v word/dword by operand size, z imm16/imm32 by operand size,
///  p far pointer, s pseudo-descriptor, q quadword, a BOUND pair.
public enum Opd: UInt8, Sendable {
    case Eb, Ew, Ed, Ev, Gb, Gw, Gv, Ib, Ibs, Iw, Iz, Jb, Jz
    case M, Mp, Ms, Ma, Mq, Ob, Ov, Sw, Cd, Dd, Rd, Ap
    case Xb, Xv, Yb, Yv, Zb, Zv, Zd
    case AL, CL, DX, eAX, one
    case ES, CS, SS, DS, FS, GS

    public var usesModRM: Bool {
        switch self {
        case .Eb, .Ew, .Ed, .Ev, .Gb, .Gw, .Gv, .M, .Mp, .Ms, .Ma, .Mq, .Sw, .Cd, .Dd, .Rd: return true
        default: return false
        }
    }
    /// True for operands whose width is one byte.
    public var isByte: Bool {
        switch self {
        case .Eb, .Gb, .Ob, .Xb, .Yb, .Zb, .AL: return true
        default: return false
        }
    }
}

/// What outside code needs to know about an instruction without executing it.
public struct Traits: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// Ends a basic block: any change of EIP other than falling through, or of
    /// state the decoder depends on.
    public static let endsBlock = Traits(rawValue: 1 << 0)
    /// #GP(0) at CPL > 0 (SDM Vol. 3 §5.9).
    public static let privileged = Traits(rawValue: 1 << 1)
    /// Sensitive but unprivileged: behaves differently at CPL > 0 without
    /// faulting (Robin & Irvine 2000).  Exactly their list.
    public static let sensitive = Traits(rawValue: 1 << 2)
    /// Port I/O, checked against IOPL and the TSS I/O bitmap.
    public static let io = Traits(rawValue: 1 << 3)
    /// Calls the hypervisor (VMCALL; `int 0x82` is recognized by value).
    public static let hypercall = Traits(rawValue: 1 << 4)
    public static let call = Traits(rawValue: 1 << 5)
    public static let ret = Traits(rawValue: 1 << 6)
    /// Needs CPL <= IOPL (CLI, STI), #GP otherwise.
    public static let ioplSensitive = Traits(rawValue: 1 << 7)
    /// Conditional control transfer.
    public static let conditional = Traits(rawValue: 1 << 8)
    /// Raises a software interrupt (INT n, INT3, INTO): `nexti` steps over it.
    public static let softInt = Traits(rawValue: 1 << 9)
    /// Reads or writes memory implicitly through a string index.
    public static let string = Traits(rawValue: 1 << 10)
    /// May take a LOCK prefix (SDM Vol. 2 LOCK).
    public static let lockable = Traits(rawValue: 1 << 11)
    /// Not privileged, yet a VM exit in VMX non-root operation, always
    /// (CPUID) or by a control (RDTSC exiting) — SDM Vol. 3 §26.1.2, §26.1.3.
    public static let vmxExit = Traits(rawValue: 1 << 12)
}

/// How the ModRM byte constrains a row: any mod, memory only, register only.
public enum ModForm: UInt8, Sendable { case any, mem, reg }

/// One row of the table.
public struct OpcodeRow: Sendable {
    /// 0 = one-byte map, 1 = 0F two-byte map.
    public var map: UInt8
    public var opcode: UInt8
    /// ModRM reg field when the opcode is a group (/digit), else -1.
    public var digit: Int8
    /// ModRM r/m when a register form is fixed (e.g. 0F 01 C1 = VMCALL), else -1.
    public var rmExact: Int8
    public var modForm: ModForm
    /// Mandatory prefix byte (0xF3 for PAUSE), or 0.
    public var prefix: UInt8
    public var mnemonic: String
    public var operands: [Opd]
    public var op: Op
    public var traits: Traits

    public var usesModRM: Bool { digit >= 0 || operands.contains { $0.usesModRM } }
    public var isByteOp: Bool { operands.first?.isByte ?? false }
    /// Opcodes where the low three bits name a register (Zb/Zv/Zd) cover 8 bytes.
    public var registerInOpcode: Bool { operands.contains { $0 == .Zb || $0 == .Zv || $0 == .Zd } }
    /// For Jcc, SETcc, CMOVcc the condition is the low nibble of the opcode.
    public var hasConditionInOpcode: Bool { op == .jcc || op == .setcc || op == .cmovcc }
}

/// Operations the executor implements.  One case per behaviour; the width and
/// operand routing come from the decoded instruction.
public enum Op: UInt8, Sendable {
    case invalid
    // ALU, in the order of the /digit of opcodes 80-83 (SDM Table A-6)
    case add, or, adc, sbb, and, sub, xor, cmp
    case test, not, neg, inc, dec, mul, imul1, imul, div, idiv
    case rol, ror, rcl, rcr, shl, shr, sal, sar, shld, shrd
    case bt, bts, btr, btc, bsf, bsr
    case daa, das, aaa, aas, aam, aad
    // data movement
    case mov, movzx, movsx, lea, xchg, xadd, cmpxchg, cmpxchg8b, bswap
    case push, pop, pushSeg, popSeg, pusha, popa, pushf, popf, lahf, sahf
    case cbw, cwd, cmovcc, setcc, enter, leave, xlat, movToSeg, movFromSeg, loadFarPointer
    // control flow
    case jmp, jmpIndirect, jcc, call, callIndirect, ret, loop, loope, loopne, jecxz
    case jmpFar, jmpFarIndirect, callFar, callFarIndirect, retFar, int, int3, into, iret, bound
    // strings
    case movs, cmps, stos, lods, scas, ins, outs
    // flags and misc
    case clc, stc, cmc, cld, std, cli, sti, nop, pause, ud2, cpuid, hlt, wait, fpu
    case `in`, out
    // system
    case lgdt, lidt, sgdt, sidt, lldt, sldt, ltr, str, lmsw, smsw, clts
    case movToCR, movFromCR, movToDR, movFromDR, invlpg, invd, wbinvd, rdtsc, rdmsr, wrmsr
    case lar, lsl, verr, verw, arpl, vmcall
}
