// Architectural facts of IA-32: register numbering, EFLAGS and control-register
// bits, exception vectors.  Intel SDM Vol. 1 §3.4, Vol. 3 §2.5, §6.3.1.

/// General registers in ModRM encoding order (SDM Vol. 2 Table 2-2).
public enum Reg {
    public static let eax = 0, ecx = 1, edx = 2, ebx = 3, esp = 4, ebp = 5, esi = 6, edi = 7
    public static let names32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
    public static let names16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"]
    /// 8-bit registers: 0-3 are the low bytes of eax..ebx, 4-7 the high bytes.
    public static let names8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"]
}

/// Segment registers in the order of the ModRM reg field for MOV Sreg (SDM Table 3-? "Sreg").
public enum Seg {
    public static let es = 0, cs = 1, ss = 2, ds = 3, fs = 4, gs = 5
    public static let names = ["es", "cs", "ss", "ds", "fs", "gs"]
}

/// EFLAGS bits (SDM Vol. 1 Figure 3-8).
public enum EFLAGS {
    public static let cf: UInt32 = 1 << 0
    public static let reserved1: UInt32 = 1 << 1     // always reads 1
    public static let pf: UInt32 = 1 << 2
    public static let af: UInt32 = 1 << 4
    public static let zf: UInt32 = 1 << 6
    public static let sf: UInt32 = 1 << 7
    public static let tf: UInt32 = 1 << 8
    public static let `if`: UInt32 = 1 << 9
    public static let df: UInt32 = 1 << 10
    public static let of: UInt32 = 1 << 11
    public static let iopl: UInt32 = 3 << 12
    public static let nt: UInt32 = 1 << 14
    public static let rf: UInt32 = 1 << 16
    public static let vm: UInt32 = 1 << 17
    public static let ac: UInt32 = 1 << 18
    public static let vif: UInt32 = 1 << 19
    public static let vip: UInt32 = 1 << 20
    public static let id: UInt32 = 1 << 21
    /// The six status flags computed by arithmetic.
    public static let arith: UInt32 = cf | pf | af | zf | sf | of
    /// Bits software can ever change on a 486-class CPU with CPUID (ID toggles).
    public static let writable: UInt32 = arith | tf | `if` | df | iopl | nt | rf | vm | ac | id
}

/// Control-register bits (SDM Vol. 3 §2.5).
public enum CR0 {
    public static let pe: UInt32 = 1 << 0, mp: UInt32 = 1 << 1, em: UInt32 = 1 << 2, ts: UInt32 = 1 << 3
    public static let et: UInt32 = 1 << 4, ne: UInt32 = 1 << 5, wp: UInt32 = 1 << 16, am: UInt32 = 1 << 18
    public static let nw: UInt32 = 1 << 29, cd: UInt32 = 1 << 30, pg: UInt32 = 1 << 31
}
public enum CR4 {
    public static let vme: UInt32 = 1 << 0, pvi: UInt32 = 1 << 1, tsd: UInt32 = 1 << 2, de: UInt32 = 1 << 3
    public static let pse: UInt32 = 1 << 4, pae: UInt32 = 1 << 5, pge: UInt32 = 1 << 7
    public static let pce: UInt32 = 1 << 8, umip: UInt32 = 1 << 11
    /// What this CPU implements; setting any other bit is #GP(0).
    public static let supported: UInt32 = tsd | de | pse | pge | pce | umip
}

/// Exception vectors (SDM Vol. 3 Table 6-1).
public enum Vector {
    public static let de: UInt8 = 0, db: UInt8 = 1, nmi: UInt8 = 2, bp: UInt8 = 3, of: UInt8 = 4
    public static let br: UInt8 = 5, ud: UInt8 = 6, nm: UInt8 = 7, df: UInt8 = 8
    public static let ts: UInt8 = 10, np: UInt8 = 11, ss: UInt8 = 12, gp: UInt8 = 13, pf: UInt8 = 14
    public static let mf: UInt8 = 16, ac: UInt8 = 17
    public static let mnemonics: [UInt8: String] = [
        0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF",
        10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF", 17: "#AC",
    ]
    /// Exceptions that push an error code (SDM Vol. 3 Table 6-1, "Error Code" column).
    public static func hasErrorCode(_ v: UInt8) -> Bool {
        v == df || (v >= ts && v <= pf) || v == ac
    }
    /// Contributory exceptions for the double-fault rules (SDM Vol. 3 Table 6-4).
    public static func isContributory(_ v: UInt8) -> Bool {
        v == de || (v >= ts && v <= gp)
    }
}

/// A fault or trap raised while executing an instruction.  Thrown with typed
/// throws so that the hot path carries no existential.
public struct CPUException: Error, Equatable, Sendable {
    public var vector: UInt8
    public var errorCode: UInt32?
    public init(_ vector: UInt8, _ errorCode: UInt32? = nil) {
        self.vector = vector
        self.errorCode = errorCode
    }
    public static func gp(_ code: UInt32 = 0) -> CPUException { CPUException(Vector.gp, code) }
    public static func ss(_ code: UInt32 = 0) -> CPUException { CPUException(Vector.ss, code) }
    public static func np(_ code: UInt32) -> CPUException { CPUException(Vector.np, code) }
    public static func ts(_ code: UInt32) -> CPUException { CPUException(Vector.ts, code) }
    public static let ud = CPUException(Vector.ud)
    public static let de = CPUException(Vector.de)
    public static let nm = CPUException(Vector.nm)
    public var name: String { Vector.mnemonics[vector] ?? "vector \(vector)" }
}
