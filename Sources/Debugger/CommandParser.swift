import X86

// Text → Command.  A command word is resolved as gdb resolves it: an exact
// name, then a predefined alias (b, c, d, i, n, p, q, s, u, si, ni, dis,
// disas…), then a unique prefix (`cond`, `disp`, `fin`); an ambiguous prefix
// names the candidates.  `/FMT` may follow the word directly (`x/4xw`,
// `p/x`, `display/i`).  Errors carry the 1-based column in the line.
//
// Comments: a line whose first non-blank character is `#`, and, except in
// `echo`, a `#` that follows a blank and is followed by a blank or the end
// of the line.  So `catch trap #GP` keeps its argument.

public enum CommandParser {
    public static let commands = [
        "advance", "awatch", "break", "catch", "compare", "condition", "continue", "delete", "disable",
        "disassemble", "display", "echo", "enable", "expect", "expect-output", "file", "finish", "focus", "help",
        "highlight", "ignore", "info", "next", "nexti", "note", "output", "pause", "print", "quit", "rwatch", "set",
        "source", "stats", "step", "stepi", "tbreak", "technique", "translate", "traps", "undisplay", "until",
        "watch", "x",
    ]
    public static let aliases: [String: String] = [
        "b": "break", "br": "break", "bre": "break", "brea": "break", "c": "continue", "cont": "continue",
        "d": "delete", "dis": "disable", "disa": "disable", "disas": "disassemble", "i": "info", "n": "next",
        "ni": "nexti", "p": "print", "inspect": "print", "q": "quit", "s": "step", "si": "stepi",
        "u": "until", "h": "help", "tb": "tbreak", "exit": "quit",
    ]
    public static let infoTopics = [
        "all-registers", "breakpoints", "cpu", "display", "ept", "gdt", "idt", "pt", "registers", "rings",
        "shadow", "symbol", "tc", "tss", "vcpu", "vmcs", "watchpoints",
    ]
    static let infoAliases = ["r": "registers", "b": "breakpoints", "br": "breakpoints", "break": "breakpoints",
                              "reg": "registers"]
    public static let catchKinds = ["exit", "hypercall", "ring", "silent", "trap"]
    /// gdb settings a script may set; accepted without effect.
    static let settings: Set<String> = ["confirm", "pagination", "height", "width", "listsize", "verbose",
                                        "disassembly-flavor", "print", "style", "logging", "trace-commands"]

    /// Parses one line; nil for a blank line or a comment.
    public static func parse(_ line: String) throws(ParseError) -> Command? {
        var chars = Array(line)
        while let last = chars.last, last == "\n" || last == "\r" { chars.removeLast() }
        var i = 0
        while i < chars.count && chars[i].isWhitespace { i += 1 }
        if i == chars.count || chars[i] == "#" { return nil }
        let wordStart = i
        while i < chars.count && (chars[i].isLetter || chars[i].isNumber || chars[i] == "-" || chars[i] == "_") { i += 1 }
        if i == wordStart {
            var j = i
            while j < chars.count && !chars[j].isWhitespace { j += 1 }
            throw ParseError("Undefined command: \"\(String(chars[i..<j]))\".  Try \"help\".", column: wordStart + 1)
        }
        let word = String(chars[wordStart..<i])
        let name = try resolve(word, in: commands, aliases: aliases, column: wordStart + 1,
                               undefined: "Undefined command: \"\(word)\".  Try \"help\".",
                               ambiguous: "Ambiguous command \"\(word)\"")
        let verbatim = name == "echo" || name == "note" || name == "expect-output"
        if !verbatim { chars = stripComment(chars, from: i) }
        var format: Format? = nil
        var formatColumn = i + 1
        if i < chars.count && chars[i] == "/" {
            formatColumn = i + 1
            i += 1
            let start = i
            while i < chars.count && !chars[i].isWhitespace { i += 1 }
            format = try parseFormat(chars[start..<i], column: start + 1, forDisassemble: name == "disassemble")
        }
        var argStart = i
        while argStart < chars.count && chars[argStart].isWhitespace { argStart += 1 }
        if name == "note" && argStart > i + 1 { argStart = i + 1 }   // a note keeps its indentation
        var argEnd = chars.count
        if name != "echo" { while argEnd > argStart && chars[argEnd - 1].isWhitespace { argEnd -= 1 } }
        let args = Arguments(text: String(chars[argStart..<argEnd]), column: argStart + 1)
        return try build(name, format, formatColumn: formatColumn, args)
    }

    struct Arguments {
        var text: String
        var column: Int
        var isEmpty: Bool { text.isEmpty }
        /// The first blank-separated word and the arguments after it.
        func split() -> (String, Arguments) {
            let chars = Array(text)
            var i = 0
            while i < chars.count && !chars[i].isWhitespace { i += 1 }
            var j = i
            while j < chars.count && chars[j].isWhitespace { j += 1 }
            return (String(chars[0..<i]), Arguments(text: String(chars[j...]), column: column + j))
        }
        func expression() throws(ParseError) -> Expr { try ExpressionParser.parse(text, column: column) }
        func optionalExpression() throws(ParseError) -> Expr? { isEmpty ? nil : try expression() }
    }

    static func resolve(_ word: String, in table: [String], aliases: [String: String], column: Int,
                        undefined: String, ambiguous: String) throws(ParseError) -> String {
        let w = word.lowercased()
        if table.contains(w) { return w }
        if let a = aliases[w] { return a }
        let matches = table.filter { $0.hasPrefix(w) }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty { throw ParseError(undefined, column: column) }
        throw ParseError("\(ambiguous): \(matches.joined(separator: ", ")).", column: column)
    }

    static func stripComment(_ chars: [Character], from start: Int) -> [Character] {
        var quote: Character? = nil
        var k = start
        while k < chars.count {
            let c = chars[k]
            if let q = quote {
                if c == "\\" { k += 1 } else if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "#" && k > 0 && chars[k - 1].isWhitespace && (k + 1 == chars.count || chars[k + 1].isWhitespace) {
                return Array(chars[..<k])
            }
            k += 1
        }
        return chars
    }

    static func parseFormat(_ chars: ArraySlice<Character>, column: Int, forDisassemble: Bool) throws(ParseError) -> Format {
        var f = Format()
        var k = chars.startIndex
        if forDisassemble {
            for c in chars where !"rms".contains(c) {
                throw ParseError("Invalid disassembly modifier.", column: column + chars.distance(from: chars.startIndex, to: chars.firstIndex(of: c)!))
            }
            f.letter = chars.contains("r") ? "r" : nil
            return f
        }
        var digits = ""
        while k < chars.endIndex && chars[k].isNumber { digits.append(chars[k]); k += 1 }
        if !digits.isEmpty { f.count = Int(digits) ?? Int.max }
        while k < chars.endIndex {
            let c = chars[k]
            let col = column + chars.distance(from: chars.startIndex, to: k)
            switch c {
            case "b", "h", "w", "g": f.size = c
            case "x", "d", "u", "o", "t", "a", "c", "i", "s", "z": f.letter = c
            case "f": throw ParseError("Format letter \"f\" is not supported (no floating point).", column: col)
            default: throw ParseError("Undefined output format \"\(c)\".", column: col)
            }
            k += 1
        }
        return f
    }

    /// print, output and call take neither sizes nor counts, nor /i.
    static func validatePrintFormat(_ f: Format?, _ command: String, column: Int) throws(ParseError) {
        guard let f else { return }
        if f.size != nil { throw ParseError("Size letters are meaningless in \"\(command)\" command.", column: column) }
        if let n = f.count, n != 1 { throw ParseError("Item count other than 1 is meaningless in \"\(command)\" command.", column: column) }
        if f.letter == "i" { throw ParseError("Format letter \"i\" is meaningless in \"\(command)\" command.", column: column) }
    }

    static func noArguments(_ name: String, _ a: Arguments) throws(ParseError) {
        if !a.isEmpty { throw ParseError("The \"\(name)\" command does not take any arguments.", column: a.column) }
    }

    static func build(_ name: String, _ format: Format?, formatColumn: Int, _ a: Arguments) throws(ParseError) -> Command {
        let takesFormat: Set<String> = ["x", "print", "output", "display", "disassemble"]
        if format != nil && !takesFormat.contains(name) {
            throw ParseError("The \"\(name)\" command takes no /FORMAT.", column: formatColumn)
        }
        switch name {
        case "break", "tbreak":
            let (loc, cond, condText) = try locationAndCondition(a)
            return .breakpoint(location: loc, temporary: name == "tbreak", condition: cond, conditionText: condText)
        case "delete", "disable", "enable":
            var args = a
            var mode = EnableMode.keep
            let (first, rest) = a.split()
            if "display".hasPrefix(first) && first.count >= 4 || first == "display" {
                let list = try numbers(rest, what: "display")
                switch name {
                case "delete": return .deleteDisplay(list)
                default: return .enableDisplay(list, name == "enable")
                }
            }
            if !first.isEmpty && "breakpoints".hasPrefix(first) && first.count >= 2 { args = rest }
            if name == "enable" && (first == "once" || first == "delete") {
                mode = first == "once" ? .once : .delete
                args = rest
            }
            let list = try numbers(args, what: "breakpoint")
            switch name {
            case "delete": return .delete(list)
            case "disable": return .disable(list)
            default: return .enable(list, mode)
            }
        case "undisplay":
            return .deleteDisplay(try numbers(a, what: "display"))
        case "condition":
            guard !a.isEmpty else { throw ParseError("Argument required (breakpoint number).", column: a.column) }
            let (first, rest) = a.split()
            guard let n = Int(first), n > 0 else { throw ParseError("Bad breakpoint argument: '\(first)'", column: a.column) }
            return .condition(n, try rest.optionalExpression(), text: rest.isEmpty ? nil : rest.text)
        case "ignore":
            guard !a.isEmpty else { throw ParseError("Argument required (a breakpoint number).", column: a.column) }
            let (first, rest) = a.split()
            guard let n = Int(first), n > 0 else { throw ParseError("Bad breakpoint argument: '\(first)'", column: a.column) }
            guard !rest.isEmpty else { throw ParseError("Second argument (specified ignore-count) is missing.", column: rest.column) }
            return .ignore(n, try rest.expression())
        case "continue": return .continue(try a.optionalExpression())
        case "stepi", "step": return .stepi(try a.optionalExpression())
        case "nexti", "next": return .nexti(try a.optionalExpression())
        case "finish": try noArguments(name, a); return .finish
        case "until":
            return .until(a.isEmpty ? nil : try locationAndCondition(a).0)
        case "advance":
            guard !a.isEmpty else { throw ParseError("Argument required (a location).", column: a.column) }
            return .advance(try locationAndCondition(a).0!)
        case "x":
            return .examine(format ?? Format(), try a.optionalExpression())
        case "print":
            try validatePrintFormat(format, "print", column: formatColumn)
            return .print(format ?? Format(), try a.optionalExpression())
        case "output":
            try validatePrintFormat(format, "output", column: formatColumn)
            guard !a.isEmpty else { throw ParseError("Argument required (expression to compute).", column: a.column) }
            return .output(format ?? Format(), try a.expression())
        case "set":
            guard !a.isEmpty else { throw ParseError("Argument required (expression to compute).", column: a.column) }
            let (first, rest) = a.split()
            if first == "var" || first == "variable" {
                guard !rest.isEmpty else { throw ParseError("Argument required (expression to compute).", column: rest.column) }
                return .set(try rest.expression())
            }
            if settings.contains(first) { return .setting(a.text) }
            return .set(try a.expression())
        case "display":
            let f = format ?? Format()
            if !f.examinesMemory { try validatePrintFormat(format, "display", column: formatColumn) }
            return .display(f, try a.optionalExpression(), text: a.text)
        case "watch", "rwatch", "awatch":
            return try watchArguments(WatchKind(rawValue: name)!, a)
        case "info": return .info(try info(a))
        case "disassemble":
            // Modifiers may also follow a blank: `disassemble /r main`.
            var f = format, rest = a
            if a.text.hasPrefix("/") {
                let (mods, after) = a.split()
                f = try parseFormat(Array(mods.dropFirst())[...], column: a.column + 1, forDisassemble: true)
                rest = after
            }
            return .disassemble(try disassembleRange(rest), raw: f?.letter == "r")
        case "source":
            guard !a.isEmpty else { throw ParseError("source command requires file name of file to source.", column: a.column) }
            return .source(a.text)
        case "echo": return .echo(Escapes.decode(Array(a.text.hasSuffix("\\") && !a.text.hasSuffix("\\\\") ? String(a.text.dropLast()) : a.text)))
        case "help": return .help(a.text.split(separator: " ").map(String.init))
        case "quit": return .quit(try a.optionalExpression())
        case "technique": return .technique(a.isEmpty ? nil : a.text)
        case "catch": return .catch(try catchKind(a))
        case "translate": return .translate(try a.optionalExpression())
        case "traps": return try traps(a)
        case "stats": try noArguments(name, a); return .stats
        case "compare": try noArguments(name, a); return .compare
        case _ where lessonVerbs.contains(name): return .lesson(try lessonVerb(name, a))
        case "file":
            guard !a.isEmpty else { throw ParseError("Argument required (a guest file).", column: a.column) }
            return .file(a.text)
        default: throw ParseError("Undefined command: \"\(name)\".  Try \"help\".", column: 1)
        }
    }

    /// `LOCATION [if CONDITION]`; LOCATION is `*EXPR`, a symbol, `symbol+off` or an address.
    static func locationAndCondition(_ a: Arguments) throws(ParseError) -> (Expr?, Expr?, String?) {
        let chars = Array(a.text)
        let split = conditionStart(chars)
        var locText = split.map { String(chars[0..<$0]) } ?? a.text
        while locText.last?.isWhitespace == true { locText.removeLast() }
        var location: Expr? = nil
        if !locText.isEmpty {
            if locText.hasPrefix("*") {
                location = try ExpressionParser.parse(String(locText.dropFirst()), column: a.column + 1)
            } else {
                location = try ExpressionParser.parse(locText, column: a.column)
            }
        }
        guard let s = split else { return (location, nil, nil) }
        let (cond, text) = try condition(chars, after: s, column: a.column)
        return (location, cond, text)
    }

    /// Where ` if ` starts a condition in `chars` (outside brackets and quotes), if it does.
    static func conditionStart(_ chars: [Character]) -> Int? {
        var depth = 0
        var quote: Character? = nil
        for k in chars.indices {
            let c = chars[k]
            if let q = quote { if c == q { quote = nil }; continue }
            if c == "'" || c == "\"" { quote = c; continue }
            if c == "(" || c == "[" || c == "{" { depth += 1 }
            if c == ")" || c == "]" || c == "}" { depth -= 1 }
            if depth == 0 && c == "i" && k + 1 < chars.count && chars[k + 1] == "f"
                && (k == 0 || chars[k - 1].isWhitespace) && (k + 2 == chars.count || chars[k + 2].isWhitespace || chars[k + 2] == "(") {
                return k
            }
        }
        return nil
    }

    /// The condition after the `if` at `s`, and its text.
    static func condition(_ chars: [Character], after s: Int, column: Int) throws(ParseError) -> (Expr, String) {
        var j = s + 2
        while j < chars.count && chars[j].isWhitespace { j += 1 }
        guard j < chars.count else { throw ParseError("Argument required (boolean expression).", column: column + j) }
        let text = String(chars[j...])
        return (try ExpressionParser.parse(text, column: column + j), text)
    }

    /// `watch EXPR [if CONDITION]`: EXPR as typed (gdb shows it), parsed as an expression.
    static func watchArguments(_ kind: WatchKind, _ a: Arguments) throws(ParseError) -> Command {
        guard !a.isEmpty else { throw ParseError("Argument required (expression to compute).", column: a.column) }
        let chars = Array(a.text)
        let split = conditionStart(chars)
        var text = split.map { String(chars[0..<$0]) } ?? a.text
        while text.last?.isWhitespace == true { text.removeLast() }
        guard !text.isEmpty else { throw ParseError("Argument required (expression to compute).", column: a.column) }
        let e = try ExpressionParser.parse(text, column: a.column)
        guard let s = split else { return .watch(kind, e, text: text, condition: nil, conditionText: nil) }
        let (cond, condText) = try condition(chars, after: s, column: a.column)
        return .watch(kind, e, text: text, condition: cond, conditionText: condText)
    }

    /// Breakpoint or display numbers: `1 2 5-7`; nil when none are given (all).
    static func numbers(_ a: Arguments, what: String) throws(ParseError) -> [Int]? {
        guard !a.isEmpty else { return nil }
        var out: [Int] = []
        var col = a.column
        for part in a.text.split(separator: " ", omittingEmptySubsequences: false) {
            defer { col += part.count + 1 }
            if part.isEmpty { continue }
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 2, let lo = Int(bounds[0]), let hi = Int(bounds[1]), lo > 0, lo <= hi {
                out += Array(lo...hi)
            } else if let n = Int(part), n > 0 {
                out.append(n)
            } else {
                throw ParseError(what == "display" ? "Arguments must be display numbers." : "Bad breakpoint number '\(part)'", column: col)
            }
        }
        return out
    }

    static func info(_ a: Arguments) throws(ParseError) -> InfoTopic {
        if a.isEmpty { return .list }
        let (word, rest) = a.split()
        let topic = try resolve(word, in: infoTopics, aliases: infoAliases, column: a.column,
                                undefined: "Undefined info command: \"\(word)\".  Try \"help info\".",
                                ambiguous: "Ambiguous info command \"\(word)\"")
        switch topic {
        case "registers", "all-registers":
            return .registers(rest.text.split(separator: " ").map { String($0.hasPrefix("$") ? $0.dropFirst() : $0) })
        case "breakpoints": return .breakpoints
        case "watchpoints": return .watchpoints
        case "display": return .display
        case "symbol":
            guard !rest.isEmpty else { throw ParseError("Argument required (address).", column: rest.column) }
            return .symbol(try rest.expression(), text: rest.text)
        case "cpu": return .cpu
        case "rings": return .rings
        case "gdt": return .gdt
        case "idt": return .idt
        case "tss": return .tss
        case "pt":
            guard !rest.isEmpty else { throw ParseError("Argument required (linear address).", column: rest.column) }
            return .pt(try rest.expression())
        case "shadow": return .shadow(try rest.optionalExpression())
        case "ept": return .ept(try rest.optionalExpression())
        default: return .monitor(topic)
        }
    }

    static func catchKind(_ a: Arguments) throws(ParseError) -> CatchKind {
        guard !a.isEmpty else { throw ParseError("Argument required (one of: \(catchKinds.joined(separator: ", "))).", column: a.column) }
        let (word, rest) = a.split()
        let kind = try resolve(word, in: catchKinds, aliases: [:], column: a.column,
                               undefined: "Undefined catch command: \"\(word)\".  Try \"help catch\".",
                               ambiguous: "Ambiguous catch command \"\(word)\"")
        switch kind {
        case "trap":
            if rest.isEmpty { return .trap(nil) }
            guard let v = trapVector(rest.text) else {
                throw ParseError("Unknown trap \"\(rest.text)\": give a vector number (0-255) or a mnemonic such as #GP or #PF.", column: rest.column)
            }
            return .trap(v)
        case "ring":
            try noArguments("catch ring", rest)
            return .ring
        case "silent":
            try noArguments("catch silent", rest)
            return .silent
        case "hypercall":
            if rest.isEmpty { return .hypercall(nil) }
            guard let n = Lexer.number(rest.text.lowercased()), n <= UInt64(UInt32.max) else {
                throw ParseError("Bad hypercall number \"\(rest.text)\": give a number such as 3 or 0x3.", column: rest.column)
            }
            return .hypercall(UInt32(n))
        default:
            return .exit(rest.isEmpty ? nil : rest.text)
        }
    }

    /// The trap log's event kinds, as `traps --kind` names them.
    public static let eventKinds = ["exception", "emulated", "silent", "callout", "vmexit", "hypercall", "injection",
                                    "shadow-fault", "pt-write", "translation", "invalidation"]

    /// `traps [--kind K] [--last N]`, options in any order (`--kind=K` too).
    static func traps(_ a: Arguments) throws(ParseError) -> Command {
        var kind: String? = nil, last: Int? = nil
        var rest = a
        while !rest.isEmpty {
            let (word, after) = rest.split()
            var option = word, value: String? = nil, valueColumn = after.column
            var next = after
            if let eq = word.firstIndex(of: "=") {
                option = String(word[..<eq])
                value = String(word[word.index(after: eq)...])
                valueColumn = rest.column + option.count + 1
            }
            switch option {
            case "--kind", "-k", "--last", "-n":
                if value == nil {
                    let (v, after2) = after.split()
                    guard !v.isEmpty else {
                        throw ParseError("Option \"\(option)\" requires an argument.", column: after.column)
                    }
                    value = v
                    next = after2
                }
                if option == "--kind" || option == "-k" {
                    guard let k = value, eventKinds.contains(k) else {
                        throw ParseError("Unknown event kind \"\(value!)\" (one of: \(eventKinds.joined(separator: ", "))).",
                                         column: valueColumn)
                    }
                    kind = k
                } else {
                    guard let n = Int(value!), n > 0 else {
                        throw ParseError("Bad count \"\(value!)\": --last takes a positive number.", column: valueColumn)
                    }
                    last = n
                }
            default:
                throw ParseError("Unknown option \"\(word)\" (traps [--kind K] [--last N]).", column: rest.column)
            }
            rest = next
        }
        return .traps(kind: kind, last: last)
    }

    /// `13`, `0xd`, `#GP`, `GP`, `gp`.
    public static func trapVector(_ text: String) -> UInt8? {
        let t = text.uppercased()
        if let v = Lexer.number(t.lowercased()), v <= 255 { return UInt8(v) }
        let name = t.hasPrefix("#") ? t : "#" + t
        for (v, m) in Vector.mnemonics where m == name || m == t { return v }
        return nil
    }

    static func disassembleRange(_ a: Arguments) throws(ParseError) -> DisassembleRange {
        if a.isEmpty { return .function(nil) }
        let chars = Array(a.text)
        var depth = 0
        for k in chars.indices {
            if chars[k] == "(" { depth += 1 } else if chars[k] == ")" { depth -= 1 }
            guard chars[k] == ",", depth == 0 else { continue }
            let start = try ExpressionParser.parse(String(chars[0..<k]), column: a.column)
            var j = k + 1
            while j < chars.count && chars[j].isWhitespace { j += 1 }
            if j < chars.count && chars[j] == "+" {
                return .length(start, try ExpressionParser.parse(String(chars[(j + 1)...]), column: a.column + j + 1))
            }
            return .range(start, try ExpressionParser.parse(String(chars[(k + 1)...]), column: a.column + k + 1))
        }
        return .function(try a.expression())
    }
}
