// The expression lexer: C tokens with their columns, gdb's `$` names, and
// symbol names as assemblers write them (NASM's `_start.next`, gcc's
// `map.isra.0`; anything else can be quoted: `'..@21.hang'`).

/// A parse error: the message and the 1-based column in the command line.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var column: Int
    public init(_ message: String, column: Int) { self.message = message; self.column = column }
    public var description: String { "\(column): \(message)" }
}

public enum Token: Equatable, Sendable {
    case number(UInt64)
    case char(UInt8)
    case string([UInt8])
    case identifier(String)
    /// `$name`, `$N`, `$`, `$$`, `$$N`: the text after the first `$`.
    case dollar(String)
    case op(String)
    case end
}

public struct Lexeme: Equatable, Sendable {
    public var token: Token
    /// 1-based column of the first character in the whole command line.
    public var column: Int
    /// Offset of the first character in the lexed text (for "near `...'" messages).
    public var offset: Int
}

public struct Lexer {
    let chars: [Character]
    /// Column of chars[0] in the command line.
    let base: Int

    public init(_ text: String, column: Int = 1) {
        chars = Array(text)
        base = column
    }

    /// The text from `offset` on, as gdb quotes it in a syntax error.
    func rest(from offset: Int) -> String { String(chars[min(offset, chars.count)...]) }

    static let operators = ["<<=", ">>=", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>", "+=", "-=", "*=", "/=",
                            "+", "-", "*", "/", "%", "<", ">", "&", "|", "^", "!", "~", "(", ")", "{", "}",
                            "[", "]", "=", "?", ":", ","]

    static func isIdentifierStart(_ c: Character) -> Bool { c.isLetter || c == "_" || c == "." }
    static func isIdentifierPart(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "." || c == "@" }

    public func tokens() throws(ParseError) -> [Lexeme] {
        var out: [Lexeme] = []
        var i = 0
        while true {
            while i < chars.count && (chars[i] == " " || chars[i] == "\t") { i += 1 }
            guard i < chars.count else {
                out.append(Lexeme(token: .end, column: base + i, offset: i))
                return out
            }
            let start = i
            let c = chars[i]
            func emit(_ t: Token) { out.append(Lexeme(token: t, column: base + start, offset: start)) }
            if c.isNumber {
                var j = i
                while j < chars.count && (chars[j].isLetter || chars[j].isNumber) { j += 1 }
                let text = String(chars[i..<j]).lowercased()
                guard let v = Lexer.number(text) else {
                    throw ParseError("Invalid number \"\(String(chars[i..<j]))\".", column: base + i)
                }
                emit(.number(v))
                i = j
            } else if c == "$" {
                var j = i + 1
                while j < chars.count && (Lexer.isIdentifierPart(chars[j]) || chars[j] == "$") && chars[j] != "." { j += 1 }
                emit(.dollar(String(chars[(i + 1)..<j])))
                i = j
            } else if Lexer.isIdentifierStart(c) {
                var j = i
                while j < chars.count && Lexer.isIdentifierPart(chars[j]) { j += 1 }
                emit(.identifier(String(chars[i..<j])))
                i = j
            } else if c == "'" {
                // A character literal, or a quoted symbol name.
                var j = i + 1
                var body: [Character] = []
                while j < chars.count && chars[j] != "'" {
                    if chars[j] == "\\" && j + 1 < chars.count { body.append(chars[j]); j += 1 }
                    body.append(chars[j]); j += 1
                }
                guard j < chars.count else { throw ParseError("Unmatched single quote.", column: base + i) }
                i = j + 1
                let decoded = Escapes.decode(body)
                if decoded.count == 1 && (body.count == 1 || body.first == "\\") {
                    emit(.char(decoded[0]))
                } else if body.isEmpty {
                    throw ParseError("Empty character constant.", column: base + start)
                } else {
                    emit(.identifier(String(body)))
                }
            } else if c == "\"" {
                var j = i + 1
                var body: [Character] = []
                while j < chars.count && chars[j] != "\"" {
                    if chars[j] == "\\" && j + 1 < chars.count { body.append(chars[j]); j += 1 }
                    body.append(chars[j]); j += 1
                }
                guard j < chars.count else { throw ParseError("Unterminated string in expression.", column: base + i) }
                i = j + 1
                emit(.string(Escapes.decode(body)))
            } else {
                var matched: String?
                for op in Lexer.operators where chars.count - i >= op.count {
                    if String(chars[i..<(i + op.count)]) == op { matched = op; break }
                }
                guard let op = matched else {
                    throw ParseError("Invalid character '\(c)' in expression.", column: base + i)
                }
                emit(.op(op))
                i += op.count
            }
        }
    }

    /// C integer literals: 0x hex, leading-0 octal, decimal.
    static func number(_ text: String) -> UInt64? {
        if text.hasPrefix("0x") { return text.count > 2 ? UInt64(text.dropFirst(2), radix: 16) : nil }
        if text.hasPrefix("0b") { return text.count > 2 ? UInt64(text.dropFirst(2), radix: 2) : nil }
        if text.count > 1 && text.hasPrefix("0") { return UInt64(text.dropFirst(), radix: 8) }
        return UInt64(text, radix: 10)
    }
}

/// C escape sequences, shared by character literals, strings and `echo`.
enum Escapes {
    /// Decodes `\n \t \r \a \b \f \v \e \\ \' \" \NNN \xHH`; other characters
    /// stand for their UTF-8 bytes.
    static func decode(_ chars: [Character]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            guard c == "\\", i + 1 < chars.count else {
                out += Array(String(c).utf8); i += 1; continue
            }
            let e = chars[i + 1]
            i += 2
            switch e {
            case "n": out.append(10)
            case "t": out.append(9)
            case "r": out.append(13)
            case "a": out.append(7)
            case "b": out.append(8)
            case "f": out.append(12)
            case "v": out.append(11)
            case "e": out.append(27)
            case "0"..."7":
                var v = Int(String(e))!
                var n = 1
                while n < 3, i < chars.count, let d = Int(String(chars[i])), d < 8 { v = v * 8 + d; i += 1; n += 1 }
                out.append(UInt8(truncatingIfNeeded: v))
            case "x":
                var v = 0
                var n = 0
                while n < 2, i < chars.count, let d = chars[i].hexDigitValue { v = v * 16 + d; i += 1; n += 1 }
                out.append(UInt8(truncatingIfNeeded: v))
            default: out += Array(String(e).utf8)
            }
        }
        return out
    }
}
