// Values of the expression language: a C type (as far as a debugger without
// debug information needs one) and the bits.  The types follow what gdb
// gives an i386 target through QEMU's target description: $eax is `int`,
// $esp `void *`, $eip `void (*)()`, $eflags a flags type; integer literals
// are `int` when they fit, else `unsigned int`, else `long long`.

/// The flags types of QEMU's i386 target description (gdb-xml/i386-32bit.xml).
public enum FlagsKind: Sendable, Equatable {
    case eflags, cr0, cr3, cr4
}

public indirect enum CType: Sendable, Equatable {
    case void
    /// An integer of 1, 2, 4 or 8 bytes.
    case int(size: Int, signed: Bool)
    /// `char` / `unsigned char`: an integer printed with its character.
    case char(signed: Bool)
    case pointer(CType)
    /// `void (*)()`, the type of $eip.
    case codePointer
    /// A text symbol without debug information: its value is its address.
    case function
    /// A data symbol without debug information (`<data variable, no debug info>`).
    case dataSymbol
    case flags(FlagsKind)

    public static let int32 = CType.int(size: 4, signed: true)
    public static let uint32 = CType.int(size: 4, signed: false)

    public var size: Int {
        switch self {
        case .void: return 1            // gdb's void arithmetic steps by one byte
        case .int(let s, _): return s
        case .char: return 1
        case .pointer, .codePointer, .function, .dataSymbol, .flags: return 4
        }
    }

    public var isSigned: Bool {
        switch self {
        case .int(_, let s): return s
        case .char(let s): return s
        default: return false
        }
    }

    /// Pointers and addresses (arithmetic on them scales, printing shows symbols).
    public var isPointerLike: Bool {
        switch self {
        case .pointer, .codePointer, .function, .dataSymbol: return true
        default: return false
        }
    }

    /// The C spelling, as gdb prints it in `(int *) 0x1000`.
    public var name: String {
        switch self {
        case .void: return "void"
        case .int(let s, let signed):
            let base: String
            switch s {
            case 1: base = "signed char"
            case 2: base = "short"
            case 8: base = "long long"
            default: base = "int"
            }
            if signed { return base }
            return s == 1 ? "unsigned char" : "unsigned " + base
        case .char(let signed): return signed ? "char" : "unsigned char"
        case .pointer(let t): return t.name + (t.isPointerType ? "*" : " *")
        case .codePointer: return "void (*)()"
        case .function: return "<text variable, no debug info>"
        case .dataSymbol: return "<data variable, no debug info>"
        case .flags(let k):
            switch k {
            case .eflags: return "i386_eflags"
            case .cr0: return "i386_cr0"
            case .cr3: return "i386_cr3"
            case .cr4: return "i386_cr4"
            }
        }
    }

    var isPointerType: Bool { if case .pointer = self { return true } else { return false } }

    /// What `*` reads through a value of this type.  Integers and `void *`
    /// read an `int`: Ringside's `*ADDR` is a plain dereference.
    public var pointee: CType {
        switch self {
        case .pointer(let t):
            if case .void = t { return .int32 }
            return t
        case .dataSymbol: return .int32
        default: return .int32
        }
    }
}

public struct Value: Sendable, Equatable {
    public var type: CType
    /// The value's bits, truncated to the type's size.
    public var bits: UInt64

    public init(_ type: CType, _ bits: UInt64) {
        self.type = type
        let size = type.size
        self.bits = size >= 8 ? bits : bits & ((1 << (UInt64(size) * 8)) - 1)
        if case .void = type { self.bits = 0 }
    }

    public static func int(_ v: Int64) -> Value { Value(.int32, UInt64(bitPattern: v)) }
    public static func uint(_ v: UInt32) -> Value { Value(.uint32, UInt64(v)) }
    public static let void = Value(.void, 0)

    public var isVoid: Bool { if case .void = type { return true } else { return false } }

    /// The bits sign-extended when the type is signed.
    public var signedValue: Int64 {
        let size = type.size
        guard size < 8 else { return Int64(bitPattern: bits) }
        let shift = UInt64(64 - size * 8)
        return type.isSigned ? Int64(bitPattern: bits << shift) >> Int64(shift) : Int64(bits)
    }

    /// The value as an integer (sign-extended for signed types): what arithmetic sees.
    public var integer: Int64 { signedValue }

    /// The value as a 32-bit address or register value.
    public var u32: UInt32 { UInt32(truncatingIfNeeded: bits) }

    public var isTrue: Bool { bits != 0 }

    /// The type of an integer literal: int when it fits, then unsigned int, then long long.
    public static func literal(_ v: UInt64) -> Value {
        if v <= UInt64(Int32.max) { return Value(.int32, v) }
        if v <= UInt64(UInt32.max) { return Value(.uint32, v) }
        return Value(.int(size: 8, signed: v <= UInt64(Int64.max)), v)
    }
}

/// C's usual arithmetic conversions, reduced to what the debugger needs:
/// everything is at least `int`; the wider operand wins; at equal width an
/// unsigned operand makes the result unsigned.
func arithmeticType(_ a: CType, _ b: CType) -> CType {
    func rank(_ t: CType) -> (Int, Bool) {
        switch t {
        case .int(let s, let signed): return (max(s, 4), s < 4 ? true : signed)
        case .char: return (4, true)
        default: return (4, false)
        }
    }
    let (sa, ua) = rank(a), (sb, ub) = rank(b)
    if sa != sb { return sa > sb ? .int(size: sa, signed: ua) : .int(size: sb, signed: ub) }
    return .int(size: sa, signed: ua && ub)
}
