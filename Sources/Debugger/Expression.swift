// Expressions: the C subset gdb users type at a debugger without debug
// information.  Precedence is C's, from assignment (lowest, right to left)
// through ?:, ||, &&, |, ^, &, == !=, < > <= >=, << >>, + -, * / %, to the
// unary operators - ~ ! * & and casts, then [] and the primaries.
//
// Primaries: integer literals (0x hex, 0 octal, decimal), character
// literals ('A', '\n', '\033'), `$` names (registers, convenience
// variables, value history `$`, `$$`, `$N`, `$$N`), symbols.  Casts name a
// C type: `(int)`, `(unsigned char *)`, `(uint16_t *)`; `{TYPE} ADDR` reads
// memory as gdb's does.  `*ADDR` on an integer reads an `int`.

public enum UnaryOp: String, Sendable { case neg = "-", plus = "+", bitNot = "~", not = "!" }

public enum BinaryOp: String, Sendable {
    case mul = "*", div = "/", mod = "%", add = "+", sub = "-", shl = "<<", shr = ">>"
    case lt = "<", gt = ">", le = "<=", ge = ">=", eq = "==", ne = "!="
    case bitAnd = "&", bitXor = "^", bitOr = "|", and = "&&", or = "||"
}

public indirect enum Expr: Sendable, Equatable {
    case literal(Value)
    /// `$name`: a register when the name is one, else a convenience variable.
    case dollar(String)
    /// `$N` (absolute) or `$`, `$$`, `$$N` (relative: back N from the last).
    case history(Int, relative: Bool)
    case symbol(String)
    case unary(UnaryOp, Expr)
    case binary(BinaryOp, Expr, Expr)
    case conditional(Expr, Expr, Expr)
    case cast(CType, Expr)
    case deref(Expr)
    /// `{TYPE} ADDR`.
    case memory(CType, Expr)
    case addressOf(Expr)
    case index(Expr, Expr)
    case assign(Expr, Expr)
    /// `a op= b`.
    case compoundAssign(BinaryOp, Expr, Expr)
}

public struct ExpressionParser {
    var lexemes: [Lexeme]
    var pos = 0
    let lexer: Lexer

    /// Parses `text`, which starts at `column` of the command line.
    public static func parse(_ text: String, column: Int = 1) throws(ParseError) -> Expr {
        var p = try ExpressionParser(text, column: column)
        let e = try p.expression()
        try p.expectEnd()
        return e
    }

    init(_ text: String, column: Int) throws(ParseError) {
        lexer = Lexer(text, column: column)
        lexemes = try lexer.tokens()
    }

    var current: Lexeme { lexemes[pos] }
    mutating func advance() { if pos < lexemes.count - 1 { pos += 1 } }

    func isOp(_ s: String) -> Bool { current.token == .op(s) }

    mutating func accept(_ s: String) -> Bool {
        if isOp(s) { advance(); return true }
        return false
    }

    /// gdb's message: "A syntax error in expression, near `REST'."
    func syntaxError() -> ParseError {
        ParseError("A syntax error in expression, near `\(lexer.rest(from: current.offset))'.", column: current.column)
    }

    mutating func expect(_ s: String) throws(ParseError) {
        guard accept(s) else { throw syntaxError() }
    }

    mutating func expectEnd() throws(ParseError) {
        guard current.token == .end else { throw syntaxError() }
    }

    // MARK: - Grammar

    mutating func expression() throws(ParseError) -> Expr {
        if current.token == .end { throw syntaxError() }
        return try assignment()
    }

    mutating func assignment() throws(ParseError) -> Expr {
        let lhs = try conditional()
        if accept("=") { return .assign(lhs, try assignment()) }
        for (text, op) in [("+=", BinaryOp.add), ("-=", .sub), ("*=", .mul), ("/=", .div), ("<<=", .shl), (">>=", .shr)] where accept(text) {
            return .compoundAssign(op, lhs, try assignment())
        }
        return lhs
    }

    mutating func conditional() throws(ParseError) -> Expr {
        let c = try binary(0)
        guard accept("?") else { return c }
        let a = try assignment()
        try expect(":")
        return .conditional(c, a, try conditional())
    }

    static let levels: [[BinaryOp]] = [
        [.or], [.and], [.bitOr], [.bitXor], [.bitAnd], [.eq, .ne], [.lt, .gt, .le, .ge], [.shl, .shr],
        [.add, .sub], [.mul, .div, .mod],
    ]

    mutating func binary(_ level: Int) throws(ParseError) -> Expr {
        guard level < ExpressionParser.levels.count else { return try unary() }
        var lhs = try binary(level + 1)
        outer: while true {
            for op in ExpressionParser.levels[level] where isOp(op.rawValue) {
                advance()
                lhs = .binary(op, lhs, try binary(level + 1))
                continue outer
            }
            return lhs
        }
    }

    mutating func unary() throws(ParseError) -> Expr {
        switch current.token {
        case .op("-"): advance(); return .unary(.neg, try unary())
        case .op("+"): advance(); return .unary(.plus, try unary())
        case .op("~"): advance(); return .unary(.bitNot, try unary())
        case .op("!"): advance(); return .unary(.not, try unary())
        case .op("*"): advance(); return .deref(try unary())
        case .op("&"): advance(); return .addressOf(try unary())
        case .op("("):
            let save = pos
            advance()
            if let type = try typeName() {
                try expect(")")
                return .cast(type, try unary())
            }
            pos = save
        case .op("{"):
            advance()
            guard let type = try typeName() else { throw syntaxError() }
            try expect("}")
            return .memory(type, try unary())
        default: break
        }
        return try postfix()
    }

    mutating func postfix() throws(ParseError) -> Expr {
        var e = try primary()
        while accept("[") {
            let i = try expression()
            try expect("]")
            e = .index(e, i)
        }
        return e
    }

    mutating func primary() throws(ParseError) -> Expr {
        let l = current
        switch l.token {
        case .number(let v): advance(); return .literal(Value.literal(v))
        case .char(let c): advance(); return .literal(Value(.char(signed: true), UInt64(c)))
        case .identifier(let name):
            if ExpressionParser.typeWords.contains(name) { throw syntaxError() }
            advance()
            return .symbol(name)
        case .dollar(let name):
            advance()
            return ExpressionParser.dollar(name)
        case .op("("):
            advance()
            let e = try expression()
            try expect(")")
            return e
        default:
            throw syntaxError()
        }
    }

    /// `$`, `$$`, `$N`, `$$N` are history; anything else a register or variable.
    static func dollar(_ name: String) -> Expr {
        if name.isEmpty { return .history(0, relative: true) }
        if name.hasPrefix("$") {
            let rest = name.dropFirst()
            if rest.isEmpty { return .history(1, relative: true) }
            if let n = Int(rest) { return .history(n, relative: true) }
        }
        if let n = Int(name) { return .history(n, relative: false) }
        return .dollar(name)
    }

    // MARK: - Types

    static let typeWords: Set<String> = ["int", "unsigned", "signed", "char", "short", "long", "void",
                                         "uint8_t", "uint16_t", "uint32_t", "uint64_t",
                                         "int8_t", "int16_t", "int32_t", "int64_t"]

    /// A C type name followed by any number of `*`, or nil when the next
    /// tokens are not a type (the parenthesis is then a grouping).
    mutating func typeName() throws(ParseError) -> CType? {
        var words: [String] = []
        while case .identifier(let w) = current.token, ExpressionParser.typeWords.contains(w) {
            words.append(w)
            advance()
        }
        if words.isEmpty { return nil }
        guard var t = ExpressionParser.baseType(words) else {
            throw ParseError("Invalid type \"\(words.joined(separator: " "))\".", column: current.column)
        }
        while accept("*") { t = .pointer(t) }
        return t
    }

    static func baseType(_ words: [String]) -> CType? {
        if words.count == 1 {
            switch words[0] {
            case "uint8_t": return .int(size: 1, signed: false)
            case "int8_t": return .int(size: 1, signed: true)
            case "uint16_t": return .int(size: 2, signed: false)
            case "int16_t": return .int(size: 2, signed: true)
            case "uint32_t": return .uint32
            case "int32_t": return .int32
            case "uint64_t": return .int(size: 8, signed: false)
            case "int64_t": return .int(size: 8, signed: true)
            case "void": return .void
            default: break
            }
        }
        var unsigned = false, signed = false, longs = 0, short = false, char = false, int = false
        for w in words {
            switch w {
            case "unsigned": if unsigned || signed { return nil }; unsigned = true
            case "signed": if unsigned || signed { return nil }; signed = true
            case "long": longs += 1
            case "short": short = true
            case "char": char = true
            case "int": if int { return nil }; int = true
            default: return nil
            }
        }
        if char {
            if short || longs > 0 || int { return nil }
            return signed ? .int(size: 1, signed: true) : .char(signed: !unsigned)
        }
        if short && longs > 0 || longs > 2 { return nil }
        let size = short ? 2 : (longs == 2 ? 8 : 4)
        return .int(size: size, signed: !unsigned)
    }
}
