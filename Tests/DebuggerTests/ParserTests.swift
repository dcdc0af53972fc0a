// The command parser: every command, gdb's abbreviations, and every parse
// error with its column.

import Testing
@testable import Debugger

func parse(_ s: String) throws -> Command? { try CommandParser.parse(s) }
func expr(_ s: String) -> Expr { try! ExpressionParser.parse(s) }
func lit(_ v: UInt64) -> Expr { .literal(Value.literal(v)) }

/// The message and column of the parse error `s` raises.
func parseError(_ s: String) -> (String, Int)? {
    do { _ = try CommandParser.parse(s); return nil } catch { return (error.message, error.column) }
}

@Suite("Command parser")
struct ParserTests {
    @Test("blank lines and comments are nothing")
    func blanks() throws {
        #expect(try parse("") == nil)
        #expect(try parse("   \t ") == nil)
        #expect(try parse("# a comment") == nil)
        #expect(try parse("   # indented comment") == nil)
        #expect(try parse("stats # trailing comment") == .stats)
        #expect(try parse("catch trap #GP") == .catch(.trap(13)))
        #expect(try parse("echo # kept\\n") == .echo(Array("# kept\n".utf8)))
    }

    @Test("break, tbreak: locations and conditions")
    func breakpoints() throws {
        #expect(try parse("break kmain") == .breakpoint(location: .symbol("kmain"), temporary: false, condition: nil, conditionText: nil))
        #expect(try parse("b *0x100010") == .breakpoint(location: lit(0x100010), temporary: false, condition: nil, conditionText: nil))
        #expect(try parse("br kmain+4") == .breakpoint(location: expr("kmain+4"), temporary: false, condition: nil, conditionText: nil))
        #expect(try parse("b 0x100010") == .breakpoint(location: lit(0x100010), temporary: false, condition: nil, conditionText: nil))
        #expect(try parse("break") == .breakpoint(location: nil, temporary: false, condition: nil, conditionText: nil))
        #expect(try parse("tbreak _start.wait") == .breakpoint(location: .symbol("_start.wait"), temporary: true, condition: nil, conditionText: nil))
        #expect(try parse("tb 'map.isra.0'") == .breakpoint(location: .symbol("map.isra.0"), temporary: true, condition: nil, conditionText: nil))
        #expect(try parse("b kmain if $eax == 3") == .breakpoint(location: .symbol("kmain"), temporary: false,
                                                                 condition: expr("$eax == 3"), conditionText: "$eax == 3"))
        #expect(try parse("b if $eax") == .breakpoint(location: nil, temporary: false, condition: .dollar("eax"), conditionText: "$eax"))
        #expect(try parse("b verify_if") == .breakpoint(location: .symbol("verify_if"), temporary: false, condition: nil, conditionText: nil))
    }

    @Test("delete, disable, enable, undisplay: number lists")
    func numberLists() throws {
        #expect(try parse("delete") == .delete(nil))
        #expect(try parse("d 1 3-5") == .delete([1, 3, 4, 5]))
        #expect(try parse("delete breakpoints 2") == .delete([2]))
        #expect(try parse("dis 2") == .disable([2]))
        #expect(try parse("disable") == .disable(nil))
        #expect(try parse("enable 1 2") == .enable([1, 2], .keep))
        #expect(try parse("enable once 4") == .enable([4], .once))
        #expect(try parse("enable delete 4") == .enable([4], .delete))
        #expect(try parse("delete display 2") == .deleteDisplay([2]))
        #expect(try parse("undisplay") == .deleteDisplay(nil))
        #expect(try parse("undisplay 1 2") == .deleteDisplay([1, 2]))
        #expect(try parse("disable display 1") == .enableDisplay([1], false))
        #expect(try parse("enable display") == .enableDisplay(nil, true))
    }

    @Test("condition and ignore")
    func conditionIgnore() throws {
        #expect(try parse("condition 2 $eax > 1") == .condition(2, expr("$eax > 1"), text: "$eax > 1"))
        #expect(try parse("cond 2") == .condition(2, nil, text: nil))
        #expect(try parse("ignore 1 3") == .ignore(1, lit(3)))
    }

    @Test("running: continue, stepi, nexti, finish, until, advance")
    func running() throws {
        #expect(try parse("continue") == .continue(nil))
        #expect(try parse("c 3") == .continue(lit(3)))
        #expect(try parse("cont") == .continue(nil))
        #expect(try parse("stepi") == .stepi(nil))
        #expect(try parse("si 4") == .stepi(lit(4)))
        #expect(try parse("s") == .stepi(nil))
        #expect(try parse("step 2") == .stepi(lit(2)))
        #expect(try parse("nexti") == .nexti(nil))
        #expect(try parse("ni 2") == .nexti(lit(2)))
        #expect(try parse("n") == .nexti(nil))
        #expect(try parse("next") == .nexti(nil))
        #expect(try parse("finish") == .finish)
        #expect(try parse("fin") == .finish)
        #expect(try parse("until") == .until(nil))
        #expect(try parse("u *0x100020") == .until(lit(0x100020)))
        #expect(try parse("advance kmain") == .advance(.symbol("kmain")))
    }

    @Test("x, print, output, display with /FMT")
    func formats() throws {
        #expect(try parse("x/4xw $sp") == .examine(Format(count: 4, letter: "x", size: "w"), .dollar("sp")))
        #expect(try parse("x/s message") == .examine(Format(letter: "s"), .symbol("message")))
        #expect(try parse("x/i $pc") == .examine(Format(letter: "i"), .dollar("pc")))
        #expect(try parse("x/2g 0x100000") == .examine(Format(count: 2, size: "g"), lit(0x100000)))
        #expect(try parse("x/wx 0") == .examine(Format(letter: "x", size: "w"), lit(0)))
        #expect(try parse("x") == .examine(Format(), nil))
        #expect(try parse("p $eax") == .print(Format(), .dollar("eax")))
        #expect(try parse("p/x $eax") == .print(Format(letter: "x"), .dollar("eax")))
        #expect(try parse("print") == .print(Format(), nil))
        #expect(try parse("inspect 1") == .print(Format(), lit(1)))
        #expect(try parse("p$eax") == .print(Format(), .dollar("eax")))
        #expect(try parse("output/x 42") == .output(Format(letter: "x"), lit(42)))
        #expect(try parse("display/i $pc") == .display(Format(letter: "i"), .dollar("pc"), text: "$pc"))
        #expect(try parse("display $eax") == .display(Format(), .dollar("eax"), text: "$eax"))
        #expect(try parse("disp/x $ebx") == .display(Format(letter: "x"), .dollar("ebx"), text: "$ebx"))
        #expect(try parse("display") == .display(Format(), nil, text: ""))
    }

    @Test("set: registers, memory, variables, gdb settings")
    func set() throws {
        #expect(try parse("set $eax = 5") == .set(.assign(.dollar("eax"), lit(5))))
        #expect(try parse("set var $eax = 5") == .set(.assign(.dollar("eax"), lit(5))))
        #expect(try parse("set variable *(int *) 0x1000 = 1") == .set(.assign(.deref(.cast(.pointer(.int32), lit(0x1000))), lit(1))))
        #expect(try parse("set {int} 0x1000 = 1") == .set(.assign(.memory(.int32, lit(0x1000)), lit(1))))
        #expect(try parse("set confirm off") == .setting("confirm off"))
        #expect(try parse("set pagination off") == .setting("pagination off"))
    }

    @Test("watchpoints: the expression as typed, an optional condition")
    func watch() throws {
        #expect(try parse("watch *(int *) 0x1000") == .watch(.write, expr("*(int *) 0x1000"), text: "*(int *) 0x1000",
                                                              condition: nil, conditionText: nil))
        #expect(try parse("rwatch $eax") == .watch(.read, .dollar("eax"), text: "$eax", condition: nil, conditionText: nil))
        #expect(try parse("awatch x") == .watch(.access, .symbol("x"), text: "x", condition: nil, conditionText: nil))
        #expect(try parse("watch ticks if ticks > 3") == .watch(.write, .symbol("ticks"), text: "ticks",
                                                                condition: expr("ticks > 3"), conditionText: "ticks > 3"))
        // `*` is part of the expression here, not break's location syntax.
        #expect(try parse("watch *0x1000  ") == .watch(.write, .deref(lit(0x1000)), text: "*0x1000", condition: nil, conditionText: nil))
    }

    @Test("info topics and their abbreviations")
    func info() throws {
        #expect(try parse("info registers") == .info(.registers([])))
        #expect(try parse("i r") == .info(.registers([])))
        #expect(try parse("info reg eax $eip") == .info(.registers(["eax", "eip"])))
        #expect(try parse("info all-registers") == .info(.registers([])))
        #expect(try parse("info breakpoints") == .info(.breakpoints))
        #expect(try parse("i b") == .info(.breakpoints))
        #expect(try parse("info break") == .info(.breakpoints))
        #expect(try parse("info watchpoints") == .info(.watchpoints))
        #expect(try parse("info display") == .info(.display))
        #expect(try parse("info symbol 0x100000") == .info(.symbol(lit(0x100000), text: "0x100000")))
        #expect(try parse("info cpu") == .info(.cpu))
        #expect(try parse("info rings") == .info(.rings))
        #expect(try parse("info ri") == .info(.rings))
        #expect(try parse("info gdt") == .info(.gdt))
        #expect(try parse("info idt") == .info(.idt))
        #expect(try parse("info tss") == .info(.tss))
        #expect(try parse("info pt 0x300000") == .info(.pt(lit(0x300000))))
        #expect(try parse("info vcpu") == .info(.monitor("vcpu")))
        #expect(try parse("info shadow 0x1000") == .info(.shadow(lit(0x1000))))
        #expect(try parse("info shadow") == .info(.shadow(nil)))
        #expect(try parse("info ept 0") == .info(.ept(lit(0))))
        #expect(try parse("info ept") == .info(.ept(nil)))
        #expect(try parse("info tc") == .info(.monitor("tc")))
        #expect(try parse("info vmcs") == .info(.monitor("vmcs")))
        #expect(try parse("info") == .info(.list))
    }

    @Test("disassemble ranges and modifiers")
    func disassemble() throws {
        #expect(try parse("disassemble") == .disassemble(.function(nil), raw: false))
        #expect(try parse("disas kmain") == .disassemble(.function(.symbol("kmain")), raw: false))
        #expect(try parse("disassemble 0x100000,0x100010") == .disassemble(.range(lit(0x100000), lit(0x100010)), raw: false))
        #expect(try parse("disassemble kmain,+12") == .disassemble(.length(.symbol("kmain"), lit(12)), raw: false))
        #expect(try parse("disassemble/r kmain") == .disassemble(.function(.symbol("kmain")), raw: true))
        #expect(try parse("disassemble /r kmain,+4") == .disassemble(.length(.symbol("kmain"), lit(4)), raw: true))
    }

    @Test("source, echo, help, quit")
    func misc() throws {
        #expect(try parse("source cmds.rsc") == .source("cmds.rsc"))
        #expect(try parse("echo Hello\\tworld\\n") == .echo(Array("Hello\tworld\n".utf8)))
        #expect(try parse("echo \\033[1m") == .echo([27] + Array("[1m".utf8)))
        #expect(try parse("echo trailing  ") == .echo(Array("trailing  ".utf8)))
        #expect(try parse("help") == .help([]))
        #expect(try parse("help x") == .help(["x"]))
        #expect(try parse("quit") == .quit(nil))
        #expect(try parse("q 3") == .quit(lit(3)))
    }

    @Test("virtualization verbs")
    func virtualization() throws {
        #expect(try parse("technique") == .technique(nil))
        #expect(try parse("technique bt") == .technique("bt"))
        #expect(try parse("catch trap") == .catch(.trap(nil)))
        #expect(try parse("catch trap 13") == .catch(.trap(13)))
        #expect(try parse("catch trap 0x80") == .catch(.trap(0x80)))
        #expect(try parse("catch trap #PF") == .catch(.trap(14)))
        #expect(try parse("catch trap pf") == .catch(.trap(14)))
        #expect(try parse("catch trap NMI") == .catch(.trap(2)))
        #expect(try parse("catch ring") == .catch(.ring))
        #expect(try parse("catch exit") == .catch(.exit(nil)))
        #expect(try parse("catch exit io") == .catch(.exit("io")))
        #expect(try parse("catch hypercall") == .catch(.hypercall(nil)))
        #expect(try parse("catch hypercall 3") == .catch(.hypercall(3)))
        #expect(try parse("catch hypercall 0x10") == .catch(.hypercall(16)))
        #expect(try parse("catch silent") == .catch(.silent))
        #expect(try parse("translate 0x100000") == .translate(lit(0x100000)))
        #expect(try parse("traps") == .traps(kind: nil, last: nil))
        #expect(try parse("traps --kind vmexit --last 5") == .traps(kind: "vmexit", last: 5))
        #expect(try parse("traps --last 3 --kind silent") == .traps(kind: "silent", last: 3))
        #expect(try parse("traps --kind=shadow-fault") == .traps(kind: "shadow-fault", last: nil))
        #expect(try parse("traps -n 2 -k emulated") == .traps(kind: "emulated", last: 2))
        #expect(try parse("stats") == .stats)
        #expect(try parse("compare") == .compare)
    }

    @Test("every parse error, with its column", arguments: [
        ("foo", "Undefined command: \"foo\".  Try \"help\".", 1),
        ("  frobnicate 3", "Undefined command: \"frobnicate\".  Try \"help\".", 3),
        ("/x 3", "Undefined command: \"/x\".  Try \"help\".", 1),
        ("di", "Ambiguous command \"di\": disable, disassemble, display.", 1),
        ("co", "Ambiguous command \"co\": compare, condition, continue.", 1),
        ("info foo", "Undefined info command: \"foo\".  Try \"help info\".", 6),
        ("info t", "Ambiguous info command \"t\": tc, tss.", 6),
        ("catch foo", "Undefined catch command: \"foo\".  Try \"help catch\".", 7),
        ("catch", "Argument required (one of: exit, hypercall, ring, silent, trap).", 6),
        ("catch trap #XX", "Unknown trap \"#XX\": give a vector number (0-255) or a mnemonic such as #GP or #PF.", 12),
        ("catch ring 3", "The \"catch ring\" command does not take any arguments.", 12),
        ("catch silent now", "The \"catch silent\" command does not take any arguments.", 14),
        ("catch hypercall x", "Bad hypercall number \"x\": give a number such as 3 or 0x3.", 17),
        ("traps --kind", "Option \"--kind\" requires an argument.", 13),
        ("traps --kind exit", "Unknown event kind \"exit\" (one of: exception, emulated, silent, callout, vmexit, hypercall, injection, shadow-fault, pt-write, translation, invalidation).", 14),
        ("traps --kind=nope", "Unknown event kind \"nope\" (one of: exception, emulated, silent, callout, vmexit, hypercall, injection, shadow-fault, pt-write, translation, invalidation).", 14),
        ("traps --last 0", "Bad count \"0\": --last takes a positive number.", 14),
        ("traps --last", "Option \"--last\" requires an argument.", 13),
        ("traps 5", "Unknown option \"5\" (traps [--kind K] [--last N]).", 7),
        ("x/4q 0", "Undefined output format \"q\".", 4),
        ("x/4f 0", "Format letter \"f\" is not supported (no floating point).", 4),
        ("p/4x 1", "Item count other than 1 is meaningless in \"print\" command.", 2),
        ("p/xw 1", "Size letters are meaningless in \"print\" command.", 2),
        ("p/i 1", "Format letter \"i\" is meaningless in \"print\" command.", 2),
        ("output/2x 1", "Item count other than 1 is meaningless in \"output\" command.", 7),
        ("display/xb $eax", "", 0),
        ("b/x kmain", "The \"break\" command takes no /FORMAT.", 2),
        ("disassemble/q", "Invalid disassembly modifier.", 13),
        ("p 1 +", "A syntax error in expression, near `'.", 6),
        ("p (1", "A syntax error in expression, near `'.", 5),
        ("p 1 2", "A syntax error in expression, near `2'.", 5),
        ("p )", "A syntax error in expression, near `)'.", 3),
        ("x/4xw (0x100000", "A syntax error in expression, near `'.", 16),
        ("p 08", "Invalid number \"08\".", 3),
        ("p 0x", "Invalid number \"0x\".", 3),
        ("p 'a", "Unmatched single quote.", 3),
        ("p ''", "Empty character constant.", 3),
        ("p \"abc", "Unterminated string in expression.", 3),
        ("p 1 ` 2", "Invalid character '`' in expression.", 5),
        ("p (long short) 1", "Invalid type \"long short\".", 14),
        ("p int", "A syntax error in expression, near `int'.", 3),
        ("b kmain if", "Argument required (boolean expression).", 11),
        ("condition", "Argument required (breakpoint number).", 10),
        ("condition x", "Bad breakpoint argument: 'x'", 11),
        ("ignore", "Argument required (a breakpoint number).", 7),
        ("ignore x 1", "Bad breakpoint argument: 'x'", 8),
        ("ignore 1", "Second argument (specified ignore-count) is missing.", 9),
        ("delete foo", "Bad breakpoint number 'foo'", 8),
        ("delete 1 0", "Bad breakpoint number '0'", 10),
        ("undisplay x", "Arguments must be display numbers.", 11),
        ("set", "Argument required (expression to compute).", 4),
        ("set var", "Argument required (expression to compute).", 8),
        ("output", "Argument required (expression to compute).", 7),
        ("watch", "Argument required (expression to compute).", 6),
        ("awatch 1 if", "Argument required (boolean expression).", 12),
        ("advance", "Argument required (a location).", 8),
        ("source", "source command requires file name of file to source.", 7),
        ("info symbol", "Argument required (address).", 12),
        ("info pt", "Argument required (linear address).", 8),
        ("finish 2", "The \"finish\" command does not take any arguments.", 8),
        ("stats now", "The \"stats\" command does not take any arguments.", 7),
        ("compare all", "The \"compare\" command does not take any arguments.", 9),
    ])
    func errors(_ line: String, _ message: String, _ column: Int) {
        let e = parseError(line)
        if message.isEmpty {
            #expect(e == nil, "\(line) parses")
        } else {
            #expect(e?.0 == message, "\(line)")
            #expect(e?.1 == column, "\(line): column")
        }
    }

    @Test("every command has a help text, and resolves from its name")
    func commandTable() throws {
        for name in CommandParser.commands {
            #expect(Session.helpTexts[name] != nil, "help for \(name)")
        }
        for (alias, name) in CommandParser.aliases { #expect(CommandParser.commands.contains(name), "\(alias)") }
    }

    @Test("trap vectors by number and mnemonic")
    func trapVectors() {
        #expect(CommandParser.trapVector("#GP") == 13)
        #expect(CommandParser.trapVector("gp") == 13)
        #expect(CommandParser.trapVector("#DE") == 0)
        #expect(CommandParser.trapVector("14") == 14)
        #expect(CommandParser.trapVector("0x0e") == 14)
        #expect(CommandParser.trapVector("256") == nil)
        #expect(CommandParser.trapVector("#ZZ") == nil)
    }
}
