// A decoded instruction: a plain value with no references, so that blocks of
// them can be cached and executed without reference counting.

/// Where an operand lives after decoding.  The decoder folds the SDM operand
/// codes into these few places so the executor needs no per-operand switch
/// beyond this one.
public enum Loc: UInt8, Sendable {
    case none
    /// ModRM r/m: a register when `mod == 3`, else memory at the effective address.
    case rm
    /// The register numbered by `reg` (ModRM reg, or the opcode's low bits, or AL/eAX).
    case reg
    /// The immediate `imm`.
    case imm
}

/// The fields are declared widest first so that the struct packs into 40
/// bytes (Swift lays stored properties out in declaration order): the block
/// pool holds a quarter of a million of them, and the hot loop reads them in
/// place through a pointer.
public struct Instr: Sendable {
    /// "No register" in `base` and `index`: slot 8 of the register file,
    /// which always holds zero, so an effective address is a sum with no
    /// branch (`CPU.regs` has nine slots).
    public static let noRegister: UInt8 = 8

    public var disp: UInt32 = 0
    /// First immediate (sign-extended where the SDM says so; relative offset for J).
    public var imm: UInt32 = 0
    /// Second immediate: the selector of a far pointer, ENTER's nesting level,
    /// or the count of a three-operand SHLD/SHRD/IMUL; in a decoded block, a
    /// RET inside a trace keeps its expected return offset here (Run.swift).
    public var imm2: UInt32 = 0
    /// Index of the opcode-table row: mnemonic, operands and traits.
    public var row: UInt16 = 0
    /// The row's traits, copied here so the hot loop never touches the table.
    public var traitBits: UInt16 = 0
    public var op: Op = .invalid
    /// The executor's specialized form (FastForms.swift), derived by the
    /// decoder from the row and the operands; `.generic` runs through `op`.
    public var fast: Fast = .generic
    public var length: UInt8 = 0
    /// Operand size in bytes (1, 2 or 4).
    public var osize: UInt8 = 4
    /// 16-bit addressing (0x67 prefix in a 32-bit segment).
    public var asize16: Bool = false
    /// Segment register for the memory operand, after defaults and overrides.
    public var seg: UInt8 = UInt8(Seg.ds)
    /// True when a segment-override prefix was present (the disassembler shows it).
    public var segOverride: Bool = false
    /// 0, 0xF3 (REP/REPE) or 0xF2 (REPNE).
    public var rep: UInt8 = 0
    public var lock: Bool = false
    public var dst: Loc = .none
    public var src: Loc = .none
    public var mod: UInt8 = 3
    public var reg: UInt8 = 0
    public var rm: UInt8 = 0
    /// Memory operand: base and index register numbers (`noRegister` = none), scale as a shift.
    public var base: UInt8 = Instr.noRegister
    public var index: UInt8 = Instr.noRegister
    public var scale: UInt8 = 0
    /// Condition code for Jcc/SETcc/CMOVcc; for SHLD/SHRD 1 means "count in CL";
    /// for three-operand IMUL 1; for MOVZX/MOVSX the source size in bytes.
    public var cond: UInt8 = 0
    public var opcode: UInt8 = 0
    public var map: UInt8 = 0
    /// Register operands of a fast form, already resolved from `reg`/`rm`
    /// and the operand order: the destination (or only) register and the source.
    public var r1: UInt8 = 0
    public var r2: UInt8 = 0

    public init() {}

    public var isMemory: Bool { mod != 3 }
    public var tableRow: OpcodeRow { opcodeRows[Int(row)] }
    public var traits: Traits { Traits(rawValue: traitBits) }
    public var mnemonic: String { opcodeRows[Int(row)].mnemonic }
}
