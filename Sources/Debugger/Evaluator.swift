import X86

// Evaluating expressions against the session: registers with gdb's types,
// guest memory through the guest's own page walk, symbols as addresses,
// value history and convenience variables; assignment to registers, memory
// and convenience variables.

/// A register as the expression language names it.
enum RegisterRef: Equatable {
    case gpr(Int, size: Int, high: Bool)
    case eip, eflags
    case segment(Int)
    case cr(Int)
    case segmentBase(Int)

    /// gdb's names for i386, with its aliases $pc $sp $fp $ps.
    static func named(_ name: String) -> RegisterRef? {
        let n = name.lowercased()
        if let i = Reg.names32.firstIndex(of: n) { return .gpr(i, size: 4, high: false) }
        if let i = Reg.names16.firstIndex(of: n), n != "sp" { return .gpr(i, size: 2, high: false) }
        if let i = Reg.names8.firstIndex(of: n) { return .gpr(i & 3, size: 1, high: i >= 4) }
        if let i = Seg.names.firstIndex(of: n) { return .segment(i) }
        switch n {
        case "eip", "pc": return .eip
        case "eflags", "ps": return .eflags
        case "sp": return .gpr(Reg.esp, size: 4, high: false)
        case "fp": return .gpr(Reg.ebp, size: 4, high: false)
        case "cr0": return .cr(0)
        case "cr2": return .cr(2)
        case "cr3": return .cr(3)
        case "cr4": return .cr(4)
        case "fs_base": return .segmentBase(Seg.fs)
        case "gs_base": return .segmentBase(Seg.gs)
        default: return nil
        }
    }

    var type: CType {
        switch self {
        case .gpr(let r, let size, _):
            if size == 4 { return r == Reg.esp || r == Reg.ebp ? .pointer(.void) : .int32 }
            return .int(size: size, signed: true)
        case .eip: return .codePointer
        case .eflags: return .flags(.eflags)
        case .segment, .segmentBase: return .int32
        case .cr(let n):
            switch n {
            case 0: return .flags(.cr0)
            case 3: return .flags(.cr3)
            case 4: return .flags(.cr4)
            default: return .int32
            }
        }
    }
}

extension Session {
    func readRegister(_ r: RegisterRef) -> UInt32 {
        switch r {
        case .gpr(let i, let size, let high):
            if size == 1 { return cpu.reg8(high ? i + 4 : i) }
            return cpu.reg(i, size: UInt8(size))
        case .eip: return linearEIP &- cpu.segs[Seg.cs].base
        case .eflags: return cpu.eflags
        case .segment(let s): return UInt32(cpu.segs[s].selector)
        case .segmentBase(let s): return cpu.segs[s].base
        case .cr(let n):
            switch n {
            case 0: return cpu.cr0
            case 2: return cpu.cr2
            case 3: return cpu.cr3
            default: return cpu.cr4
            }
        }
    }

    func writeRegister(_ r: RegisterRef, _ name: String, _ v: UInt32) throws(CommandError) {
        switch r {
        case .gpr(let i, let size, let high):
            if size == 1 { cpu.setReg8(high ? i + 4 : i, v) } else { cpu.setReg(i, size: UInt8(size), v) }
        case .eip: if !monitor.setGuestEIP(v) { cpu.eip = v }
        case .eflags: cpu.setEFLAGS(v)
        case .segmentBase(let s): cpu.segs[s].base = v
        case .segment(let s):
            guard s != Seg.cs else { throw CommandError("Cannot set $cs: a far jump in the guest loads CS.") }
            do { try cpu.loadSegment(s, selector: UInt16(truncatingIfNeeded: v)) } catch {
                throw CommandError("Cannot load $\(name) with 0x\(String(v, radix: 16)): \(describe(error))")
            }
        case .cr(let n):
            // Under a monitor the CPU's control registers are the monitor's (shadow CR3, WP, PG):
            // writing them would pull the floor from under it.
            guard isNative else {
                throw CommandError("Cannot set $\(name) under \(technique): the CPU's control registers are the monitor's; the guest's are in its vCPU (info vcpu).")
            }
            do { try cpu.writeCR(n, v) } catch {
                throw CommandError("Cannot set $\(name) to 0x\(String(v, radix: 16)): \(describe(error))")
            }
        }
    }

    func describe(_ e: CPUException) -> String {
        e.name + (e.errorCode.map { "(0x\(String($0, radix: 16)))" } ?? "")
    }

    // MARK: - Evaluation

    public func evaluate(_ e: Expr) throws(CommandError) -> Value {
        switch e {
        case .literal(let v): return v
        case .dollar(let name):
            if let r = RegisterRef.named(name) { return Value(r.type, UInt64(readRegister(r))) }
            return variables[name] ?? builtinVariable(name) ?? .void
        case .history(let n, let relative): return try historyValue(n, relative: relative)
        case .symbol(let name):
            guard let s = symbols.lookup(name) else { throw CommandError("No symbol \"\(name)\" in current context.") }
            if s.section == nil { return Value.literal(UInt64(s.address)) }
            return Value(s.isFunction ? .function : .dataSymbol, UInt64(s.address))
        case .unary(let op, let a):
            let v = try arithmetic(try evaluate(a))
            switch op {
            case .not: return .int(v.bits == 0 ? 1 : 0)
            case .plus: return Value(arithmeticType(v.type, .int32), UInt64(bitPattern: v.integer))
            case .neg: return Value(arithmeticType(v.type, .int32), UInt64(bitPattern: 0 &- v.integer))
            case .bitNot: return Value(arithmeticType(v.type, .int32), ~UInt64(bitPattern: v.integer))
            }
        case .binary(let op, let a, let b): return try binary(op, a, b)
        case .conditional(let c, let a, let b):
            return try arithmetic(try evaluate(c)).isTrue ? try evaluate(a) : try evaluate(b)
        case .cast(let t, let a):
            let v = try evaluate(a)
            if case .void = t { return .void }
            if v.isVoid { throw CommandError("Invalid cast.") }
            return Value(t, UInt64(bitPattern: v.integer))
        case .deref(let a):
            let v = try evaluate(a)
            if case .function = v.type { return v }
            if v.isVoid { throw CommandError("Attempt to take contents of a non-pointer value.") }
            return try load(v.type.pointee, at: v.u32)
        case .memory(let t, let a):
            return try load(t, at: try arithmetic(try evaluate(a)).u32)
        case .addressOf(let a):
            switch a {
            case .symbol, .deref, .memory, .index:
                let (addr, t) = try location(a)
                return Value(.pointer(t), UInt64(addr))
            default:
                throw CommandError("Attempt to take address of value not located in memory.")
            }
        case .index(let a, let i):
            let (addr, t) = try location(.index(a, i))
            return try load(t, at: addr)
        case .assign(let lhs, let rhs):
            return try assign(lhs, try evaluate(rhs))
        case .compoundAssign(let op, let lhs, let rhs):
            return try assign(lhs, try binary(op, lhs, rhs))
        }
    }

    func historyValue(_ n: Int, relative: Bool) throws(CommandError) -> Value {
        if relative {
            guard history.count > n else {
                if history.isEmpty && n == 0 { return .void }
                throw CommandError("History has not yet reached $$\(n).")
            }
            return history[history.count - 1 - n]
        }
        guard n >= 1, n <= history.count else { throw CommandError("History has not yet reached $\(n).") }
        return history[n - 1]
    }

    func load(_ t: CType, at a: UInt32) throws(CommandError) -> Value {
        if case .void = t { throw CommandError("Attempt to take contents of a non-pointer value.") }
        return Value(t, try read(a, size: t.size))
    }

    /// The address and type an lvalue in memory names.
    func location(_ e: Expr) throws(CommandError) -> (UInt32, CType) {
        switch e {
        case .deref(let a):
            let v = try evaluate(a)
            if v.isVoid { throw CommandError("Attempt to take contents of a non-pointer value.") }
            if case .function = v.type { return (v.u32, .function) }
            return (v.u32, v.type.pointee)
        case .memory(let t, let a): return (try arithmetic(try evaluate(a)).u32, t)
        case .index(let a, let i):
            let base = try evaluate(a)
            guard case .pointer = base.type else { throw CommandError("cannot subscript something of type `\(base.type.name)'") }
            let t = base.type.pointee
            let k = try arithmetic(try evaluate(i)).integer
            return (base.u32 &+ UInt32(truncatingIfNeeded: k &* Int64(t.size)), t)
        case .symbol(let name):
            let v = try evaluate(e)
            guard v.type == .function || v.type == .dataSymbol else {
                throw CommandError("Attempt to take address of value not located in memory.")
            }
            _ = name
            return (v.u32, v.type)
        default:
            throw CommandError("Left operand of assignment is not an lvalue.")
        }
    }

    func assign(_ lhs: Expr, _ v: Value) throws(CommandError) -> Value {
        switch lhs {
        case .dollar(let name):
            if let r = RegisterRef.named(name) {
                try writeRegister(r, name, UInt32(truncatingIfNeeded: try arithmetic(v).bits))
                return Value(r.type, UInt64(readRegister(r)))
            }
            variables[name] = v
            return v
        case .deref, .memory, .index:
            let (addr, t) = try location(lhs)
            if case .function = t { throw CommandError("Left operand of assignment is not an lvalue.") }
            let nv = Value(t, UInt64(bitPattern: try arithmetic(v).integer))
            try write(addr, size: t.size, nv.bits)
            return nv
        default:
            throw CommandError("Left operand of assignment is not an lvalue.")
        }
    }

    /// Refuses void in arithmetic, as gdb does.
    func arithmetic(_ v: Value) throws(CommandError) -> Value {
        if v.isVoid { throw CommandError("Argument to arithmetic operation not a number or boolean.") }
        return v
    }

    func binary(_ op: BinaryOp, _ ea: Expr, _ eb: Expr) throws(CommandError) -> Value {
        let a = try arithmetic(try evaluate(ea))
        switch op {
        case .and:
            guard a.isTrue else { return .int(0) }
            return .int(try arithmetic(try evaluate(eb)).isTrue ? 1 : 0)
        case .or:
            guard !a.isTrue else { return .int(1) }
            return .int(try arithmetic(try evaluate(eb)).isTrue ? 1 : 0)
        default: break
        }
        let b = try arithmetic(try evaluate(eb))
        // Pointer arithmetic scales by the pointee's size (void and symbols: bytes).
        func stride(_ t: CType) -> Int64 { if case .pointer(let p) = t { return Int64(p.size) } else { return 1 } }
        func pointerResult(_ t: CType) -> CType {
            switch t {
            case .function: return .codePointer
            case .dataSymbol: return .pointer(.void)
            default: return t
            }
        }
        if op == .add || op == .sub {
            if a.type.isPointerLike && b.type.isPointerLike && op == .sub {
                return .int((Int64(a.u32) - Int64(b.u32)) / stride(a.type))
            }
            if a.type.isPointerLike && !b.type.isPointerLike {
                let d = b.integer &* stride(a.type)
                return Value(pointerResult(a.type), UInt64(op == .add ? a.u32 &+ UInt32(truncatingIfNeeded: d) : a.u32 &- UInt32(truncatingIfNeeded: d)))
            }
            if b.type.isPointerLike && !a.type.isPointerLike && op == .add {
                return Value(pointerResult(b.type), UInt64(b.u32 &+ UInt32(truncatingIfNeeded: a.integer &* stride(b.type))))
            }
        }
        let t = arithmeticType(a.type, b.type)
        let signed = t.isSigned
        let x = a.integer, y = b.integer
        let ux = UInt64(bitPattern: x), uy = UInt64(bitPattern: y)
        // Unsigned operands compare and divide as unsigned values of the result's width.
        let mask: UInt64 = t.size >= 8 ? ~0 : (1 << UInt64(t.size * 8)) - 1
        let (mx, my) = (ux & mask, uy & mask)
        func boolean(_ c: Bool) -> Value { .int(c ? 1 : 0) }
        switch op {
        case .add: return Value(t, ux &+ uy)
        case .sub: return Value(t, ux &- uy)
        case .mul: return Value(t, ux &* uy)
        case .div, .mod:
            guard (y & Int64(bitPattern: mask)) != 0 else { throw CommandError("Division by zero") }
            if signed {
                let sx = Value(t, ux).signedValue, sy = Value(t, uy).signedValue
                if sy == -1 { return Value(t, op == .div ? UInt64(bitPattern: 0 &- sx) : 0) }
                return Value(t, UInt64(bitPattern: op == .div ? sx / sy : sx % sy))
            }
            return Value(t, op == .div ? mx / my : mx % my)
        case .shl: return Value(arithmeticType(a.type, .int32), y >= 64 ? 0 : ux << UInt64(y))
        case .shr:
            let lt = arithmeticType(a.type, .int32)
            if y >= 64 { return Value(lt, 0) }
            let lmask: UInt64 = lt.size >= 8 ? ~0 : (1 << UInt64(lt.size * 8)) - 1
            return lt.isSigned ? Value(lt, UInt64(bitPattern: Value(lt, ux).signedValue >> y)) : Value(lt, (ux & lmask) >> UInt64(y))
        case .bitAnd: return Value(t, ux & uy)
        case .bitOr: return Value(t, ux | uy)
        case .bitXor: return Value(t, ux ^ uy)
        case .eq: return boolean(mx == my)
        case .ne: return boolean(mx != my)
        case .lt: return boolean(signed ? Value(t, ux).signedValue < Value(t, uy).signedValue : mx < my)
        case .gt: return boolean(signed ? Value(t, ux).signedValue > Value(t, uy).signedValue : mx > my)
        case .le: return boolean(signed ? Value(t, ux).signedValue <= Value(t, uy).signedValue : mx <= my)
        case .ge: return boolean(signed ? Value(t, ux).signedValue >= Value(t, uy).signedValue : mx >= my)
        case .and, .or: fatalError("handled above")
        }
    }

    /// An expression's value as an address (for `x`, breakpoints, `info symbol`).
    func address(_ e: Expr) throws(CommandError) -> UInt32 {
        try arithmetic(try evaluate(e)).u32
    }
}
