// `help` and `help COMMAND`: one summary line per command, then usage.

extension Session {
    static let helpTexts: [String: (summary: String, usage: String)] = [
        "advance": ("Run until LOCATION, or until the current function returns.", "advance LOCATION"),
        "awatch": ("Set a watchpoint that stops after an instruction reads or writes EXPR.",
                   "awatch EXPR [if CONDITION]\nEXPR names memory: SYMBOL, *ADDRESS, *(char *) ADDRESS, {short} ADDRESS..."),
        "break": ("Set a breakpoint at a location.",
                  "break [LOCATION] [if CONDITION]\nLOCATION: *ADDRESS, SYMBOL, SYMBOL+OFFSET or an address.  Without one, the current instruction."),
        "catch": ("Stop at an event.",
                  "catch trap [VECTOR|#GP|#PF|...]  an exception about to be delivered (INT n with its vector)\ncatch ring                       a change of CPL\ncatch silent                     a sensitive instruction that did not trap (trap)\ncatch hypercall [N]              a hypercall (pv)\ncatch exit [REASON]              a VM exit (vtx)"),
        "compare": ("Run the guest under every technique and tabulate.", "compare"),
        "condition": ("Make breakpoint N stop only if CONDITION is true.", "condition N [CONDITION]"),
        "continue": ("Continue the guest; with N, ignore the current breakpoint N-1 more times.", "continue [N]"),
        "delete": ("Delete breakpoints (all without numbers), or displays.", "delete [breakpoints] [N...]\ndelete display [N...]"),
        "disable": ("Disable breakpoints (all without numbers), or displays.", "disable [breakpoints] [N...]\ndisable display [N...]"),
        "disassemble": ("Disassemble the function at EIP, at ADDRESS, or a range.",
                        "disassemble[/r] [ADDRESS | START,END | START,+LENGTH]"),
        "display": ("Print an expression after every stop.", "display[/FMT] [EXPR]"),
        "echo": ("Print text; C escapes (\\n, \\t, \\033...) are understood.", "echo TEXT"),
        "enable": ("Enable breakpoints (all without numbers), or displays.",
                   "enable [breakpoints|once|delete] [N...]\nenable display [N...]"),
        "expect": ("Lesson check: stop with an error unless EXPR is true (non-zero).",
                   "expect EXPR\nBuilt-in variables for lessons (read-only; a variable you set wins):"),
        "expect-output": ("Lesson check: stop with an error unless the previous command's output contains TEXT.",
                          "expect-output TEXT\nLesson verbs (note, pause, expect, focus, highlight) are not \"previous commands\"."),
        "file": ("Debug another guest file, restarted under the current technique.", "file PATH"),
        "finish": ("Run until the current function returns.", "finish"),
        "focus": ("Lesson: move the TUI's focus to a panel.", "focus registers|rings|code|traps|memory|serial|command"),
        "highlight": ("Lesson: mark an address or a trap-log entry in the TUI.",
                      "highlight ADDRESS            an address in the Code and Memory panels\nhighlight trap [KIND|SEQ]    the newest trap-log event (of KIND), or entry SEQ\nhighlight off"),
        "note": ("Lesson: show an explanation (*emphasis* and `code` are marked up).", "note TEXT"),
        "pause": ("Lesson: wait for a key in the TUI (Space or Enter); nothing in batch mode.", "pause"),
        "help": ("Describe commands.", "help [COMMAND]"),
        "ignore": ("Ignore the next COUNT crossings of breakpoint N.", "ignore N COUNT"),
        "info": ("Show state.", "info TOPIC"),
        "next": ("Step one instruction, over calls and INT (as nexti: there are no source lines).", "next [N]"),
        "nexti": ("Step one instruction, running calls and INT n to their return.", "nexti [N]"),
        "output": ("Print a value without a history number or newline.", "output[/FMT] EXPR"),
        "print": ("Print the value of an expression and record it as $N.", "print[/FMT] [EXPR]\nFMT: x d u o t a c z"),
        "quit": ("End the session (exit status EXPR when given).", "quit [EXPR]"),
        "rwatch": ("Set a watchpoint that stops after an instruction reads EXPR.",
                   "rwatch EXPR [if CONDITION]\nEXPR names memory: SYMBOL, *ADDRESS, *(char *) ADDRESS, {short} ADDRESS..."),
        "set": ("Assign to a register, to memory or to a convenience variable.",
                "set [var] $REG = EXPR\nset var *(int *) ADDRESS = EXPR\nset {int} ADDRESS = EXPR\nset $name = EXPR"),
        "source": ("Run the commands of a file.", "source FILE"),
        "stats": ("Show instructions, virtual time, exceptions and stops; under a monitor, events by kind as bars.", "stats"),
        "step": ("Step one instruction (as stepi: there are no source lines).", "step [N]"),
        "stepi": ("Step exactly one instruction.", "stepi [N]"),
        "tbreak": ("Set a breakpoint that is deleted when hit.", "tbreak [LOCATION] [if CONDITION]"),
        "technique": ("Restart the guest under a technique: native, trap, bt, vtx or pv.", "technique [NAME]"),
        "translate": ("Show a block's translation (needs a monitor).", "translate [ADDRESS]"),
        "traps": ("Show the trap log: every monitor event (trap, pv, vtx).", "traps [--kind K] [--last N]"),
        "undisplay": ("Delete displays (all without numbers).", "undisplay [N...]"),
        "until": ("Step past a backward jump, or run until LOCATION or the function's return.", "until [LOCATION]"),
        "watch": ("Set a watchpoint that stops after an instruction changes EXPR.",
                  "watch EXPR [if CONDITION]\nEXPR names memory: SYMBOL (its size, else 4 bytes), *ADDRESS (an int), *(char *) ADDRESS,\n{short} ADDRESS...  Hardware watchpoints: the MMU sees every data access, fetches never count."),
        "x": ("Examine memory.",
              "x/NFU ADDRESS\nN count; F format x d u o t a c i s z; U size b h w g.  Without ADDRESS, after the last."),
    ]

    static let infoHelp: [(String, String)] = [
        ("breakpoints", "breakpoints, watchpoints and catchpoints"), ("cpu", "what the CPU holds"), ("display", "auto-display expressions"),
        ("ept ADDRESS", "the EPT walk (needs vtx)"), ("gdt", "the global descriptor table"), ("idt", "the interrupt descriptor table"),
        ("pt ADDRESS", "the guest's page walk for a linear address"), ("registers [REG...]", "registers, as gdb shows them"),
        ("rings", "guest-visible and real CPL, IOPL, IF"), ("shadow ADDRESS", "the shadow page tables (needs a monitor)"),
        ("symbol ADDRESS", "the symbol an address lies in"), ("tc", "the translation cache (needs bt)"),
        ("tss", "the current task-state segment"), ("vcpu", "what the guest sees (needs a monitor)"),
        ("vmcs", "the VMCS (needs vtx)"), ("watchpoints", "watchpoints"),
    ]

    func help(_ words: [String]) throws(CommandError) {
        guard let word = words.first else {
            var s = "List of commands (gdb's names and abbreviations):\n\n"
            for name in CommandParser.commands { s += "\(name) -- \(Session.helpTexts[name]!.summary)\n" }
            s += "\nType \"help\" followed by a command name for its usage.\n"
            emit(s)
            return
        }
        let name: String
        do {
            name = try CommandParser.resolve(word, in: CommandParser.commands, aliases: CommandParser.aliases, column: 1,
                                             undefined: "Undefined command: \"\(word)\".  Try \"help\".",
                                             ambiguous: "Ambiguous command \"\(word)\"")
        } catch {
            throw CommandError(error.message)
        }
        let h = Session.helpTexts[name]!
        var s = h.summary + "\nUsage: " + h.usage.split(separator: "\n").joined(separator: "\n       ") + "\n"
        if name == "info" {
            s += Session.table(Session.infoHelp.map { ["  info " + $0.0, "-- " + $0.1] })
        }
        if name == "expect" {
            s += Session.table(Session.builtinVariableHelp.map { ["  " + $0.0, "-- " + $0.1] })
        }
        emit(s)
    }
}
