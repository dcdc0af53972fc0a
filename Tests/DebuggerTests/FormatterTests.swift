// gdb's formats: integers in every letter, characters, strings, flags,
// register lines, stop reports, tables; and the transcript writer.

import Testing
@testable import Debugger
import PC
import X86

@Suite("Formatter")
struct FormatterTests {
    @Test("integers in every format letter; x pads only in the x command")
    func integers() {
        #expect(GDBFormat.integer(42, size: 4, signed: true, letter: "x") == "0x2a")
        #expect(GDBFormat.integer(42, size: 4, signed: true, letter: "x", pad: true) == "0x0000002a")
        #expect(GDBFormat.integer(2, size: 1, signed: true, letter: "x", pad: true) == "0x02")
        #expect(GDBFormat.integer(2, size: 2, signed: true, letter: "x", pad: true) == "0x0002")
        #expect(GDBFormat.integer(2, size: 8, signed: true, letter: "x", pad: true) == "0x0000000000000002")
        #expect(GDBFormat.integer(42, size: 4, signed: true, letter: "z") == "0x0000002a")
        #expect(GDBFormat.integer(0xffff_ffff, size: 4, signed: true, letter: "x") == "0xffffffff")
        #expect(GDBFormat.integer(0xffff_ffff, size: 4, signed: true, letter: "d") == "-1")
        #expect(GDBFormat.integer(0xffff_ffff, size: 4, signed: true, letter: "u") == "4294967295")
        #expect(GDBFormat.integer(0xff, size: 1, signed: true, letter: "d") == "-1")
        #expect(GDBFormat.integer(8, size: 4, signed: true, letter: "o") == "010")
        #expect(GDBFormat.integer(0, size: 4, signed: true, letter: "o") == "0")
        #expect(GDBFormat.integer(10, size: 4, signed: true, letter: "t") == "1010")
        #expect(GDBFormat.integer(3, size: 1, signed: true, letter: "t", pad: true) == "00000011")
        #expect(GDBFormat.integer(65, size: 4, signed: true, letter: "c") == "65 'A'")
        #expect(GDBFormat.integer(0xffff_ffff, size: 4, signed: true, letter: "n") == "-1")
        #expect(GDBFormat.integer(0xffff_ffff, size: 4, signed: false, letter: "n") == "4294967295")
    }

    @Test("characters and strings with C escapes and repeats")
    func characters() {
        #expect(GDBFormat.character(65, signed: true) == "65 'A'")
        #expect(GDBFormat.character(0, signed: true) == "0 '\\000'")
        #expect(GDBFormat.character(10, signed: true) == "10 '\\n'")
        #expect(GDBFormat.character(13, signed: true) == "13 '\\r'")
        #expect(GDBFormat.character(27, signed: true) == "27 '\\033'")
        #expect(GDBFormat.character(0xff, signed: true) == "-1 '\\377'")
        #expect(GDBFormat.character(0xff, signed: false) == "255 '\\377'")
        #expect(GDBFormat.charLiteral(0x27) == "'\\''")
        #expect(GDBFormat.charLiteral(0x5c) == "'\\\\'")
        #expect(GDBFormat.string(Array("Hi\r\n".utf8), truncated: false) == "\"Hi\\r\\n\"")
        #expect(GDBFormat.string(Array("say \"x\"".utf8), truncated: false) == "\"say \\\"x\\\"\"")
        #expect(GDBFormat.string([], truncated: false) == "\"\"")
        #expect(GDBFormat.string(Array("ab".utf8), truncated: true) == "\"ab\"...")
        #expect(GDBFormat.string(Array("x".utf8) + [UInt8](repeating: 0x41, count: 12) + Array("yz".utf8), truncated: false)
                == "\"x\", 'A' <repeats 12 times>, \"yz\"")
        #expect(GDBFormat.string([UInt8](repeating: 0x41, count: 10), truncated: false) == "\"AAAAAAAAAA\"")
    }

    @Test("flags as QEMU's target description gives them to gdb")
    func flags() {
        #expect(GDBFormat.flags(0x246, .eflags) == "[ IOPL=0 IF ZF PF ]")
        #expect(GDBFormat.flags(0x3202, .eflags) == "[ IOPL=3 IF ]")
        #expect(GDBFormat.flags(0x2, .eflags) == "[ IOPL=0 ]")
        #expect(GDBFormat.flags(0x8000_0011, .cr0) == "[ PG ET PE ]")
        #expect(GDBFormat.flags(0x105000, .cr3) == "[ PDBR=261 PCID=0 ]")
        #expect(GDBFormat.flags(0, .cr4) == "[ ]")
        #expect(GDBFormat.flags(0x90, .cr4) == "[ PGE PSE ]")
    }

    @Test("info registers lines: name to column 15, hex to column 35")
    func registerLines() {
        #expect(GDBFormat.registerLine("eax", raw: 0x2a, natural: "42") == "eax            0x2a                42")
        #expect(GDBFormat.registerLine("eip", raw: 0x100010, natural: "0x100010 <kmain+4>")
                == "eip            0x100010            0x100010 <kmain+4>")
        #expect(GDBFormat.registerLine("eflags", raw: 0x246, natural: "[ IOPL=0 IF ZF PF ]")
                == "eflags         0x246               [ IOPL=0 IF ZF PF ]")
    }

    @Test("values as print shows them")
    func values() {
        var t = SymbolTable(sections: [.init(name: ".text", address: 0x100000, size: 0x100, executable: true)],
                            entries: [.init(name: "kmain", address: 0x100010, size: 0, isFunction: true, isGlobal: true, section: 0)])
        let none: GDBFormat.MemoryReader = { _, _ in nil }
        func show(_ v: Value, _ f: Character? = nil) -> String { GDBFormat.value(v, format: f, symbols: t, memory: none) }
        #expect(show(.int(42)) == "42")
        #expect(show(.int(42), "x") == "0x2a")
        #expect(show(.int(-1), "x") == "0xffffffff")
        #expect(show(.int(65), "c") == "65 'A'")
        #expect(show(.int(0x100014), "a") == "0x100014 <kmain+4>")
        #expect(show(Value(.pointer(.void), 0x7fffe0)) == "(void *) 0x7fffe0")
        #expect(show(Value(.pointer(.int32), 0x100010)) == "(int *) 0x100010 <kmain>")
        #expect(show(Value(.codePointer, 0x100014)) == "(void (*)()) 0x100014 <kmain+4>")
        #expect(show(Value(.function, 0x100010)) == "{<text variable, no debug info>} 0x100010 <kmain>")
        #expect(show(Value(.pointer(.char(signed: true)), 0x100010)) == "0x100010 <kmain> <error: Cannot access memory at address 0x100010>")
        #expect(show(Value(.flags(.eflags), 0x202)) == "[ IOPL=0 IF ]")
        #expect(show(.void) == "void")
        #expect(show(Value(.char(signed: true), 10)) == "10 '\\n'")
        t = SymbolTable()
        #expect(show(.int(0x100014), "a") == "0x100014")
    }

    @Test("stop reports as gdb prints them")
    func stops() {
        func r(_ reason: StopEvent.Reason, _ f: String? = "kmain") -> String {
            Output.stop(StopEvent(reason: reason, address: 0x100010, function: f)).rendered
        }
        #expect(r(.breakpoint(1, temporary: false)) == "\nBreakpoint 1, 0x00100010 in kmain ()\n")
        #expect(r(.breakpoint(2, temporary: true)) == "\nTemporary breakpoint 2, 0x00100010 in kmain ()\n")
        #expect(r(.location) == "0x00100010 in kmain ()\n")
        #expect(r(.location, nil) == "0x00100010 in ?? ()\n")
        #expect(r(.catchpoint(3, "trap #GP error=0x0")) == "\nCatchpoint 3 (trap #GP error=0x0), 0x00100010 in kmain ()\n")
        #expect(r(.limit) == "\nProgram stopped: instruction limit\n0x00100010 in kmain ()\n")
        #expect(r(.interrupted) == "\nProgram received signal SIGINT, Interrupt.\n0x00100010 in kmain ()\n")
        #expect(r(.ended(.debugExit(33))) == "[Inferior 1 (guest) exited with code 33]\n")
        #expect(r(.ended(.halted)) == "[guest halted]\n")
        #expect(r(.ended(.tripleFault)) == "[triple fault]\n")
        #expect(Output.value(number: 1, value: .int(42), text: "42").rendered == "$1 = 42\n")
    }

    @Test("tables pad columns and trim line ends")
    func tables() {
        #expect(Session.table([["a", "bb", ""], ["ccc", "d", "e"]]) == "a    bb\nccc  d   e\n")
    }

    @Test("descriptor types")
    func descriptorTypes() {
        #expect(Session.typeName(Descriptor(lo: 0, hi: 0x9B00)) == "code era")
        #expect(Session.typeName(Descriptor(lo: 0, hi: 0x9300)) == "data rwa")
        #expect(Session.typeName(Descriptor(lo: 0, hi: 0x9800)) == "code e")
        #expect(Session.typeName(Descriptor(lo: 0, hi: 0x9400)) == "data rd")
        #expect(Session.typeName(Descriptor(lo: 0, hi: 0x8B00)) == "TSS32 busy")
        #expect(Session.typeName(Descriptor(lo: 0, hi: 0x8E00)) == "int gate 32")
        #expect(Session.typeName(Descriptor(lo: 0, hi: 0x8C00)) == "call gate 32")
        #expect(Session.typeName(Descriptor(lo: 0, hi: 0x8200)) == "LDT")
        #expect(Session.pteFlags(0x67, directory: false) == "[ P W U A D ]")
        #expect(Session.pteFlags(0xe7, directory: true) == "[ P W U A D PS ]")
    }

    @Test("transcript: prompt, CR LF from the guest, open serial lines closed before debugger text")
    func transcript() {
        var w = TranscriptWriter()
        var s = w.render(.command("continue"))
        s += w.render(.output(.text("Continuing.\n")))
        s += w.render(.output(.serial(Array("Hello\r\nno newline".utf8))))
        s += w.render(.output(.stop(StopEvent(reason: .breakpoint(1, temporary: false), address: 0x100010, function: "f"))))
        s += w.render(.output(.serial(Array("ends in CR\r".utf8))))
        s += w.render(.output(.serial(Array("\nnext".utf8))))
        s += w.render(.error("x.rsc:3: error: boom"))
        #expect(s == """
            (ringside) continue
            Continuing.
            Hello
            no newline

            Breakpoint 1, 0x00100010 in f ()
            ends in CR
            next
            x.rsc:3: error: boom

            """)
    }

    @Test("symbol lookup: nearest in the same section, sized symbols end, absolute symbols never name addresses")
    func symbolTable() throws {
        let bytes = try GuestLoader.read(GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/minikernel.elf").path)
        let t = SymbolTable(elf: bytes)
        #expect(t.label(0x100110) == "kmain")
        #expect(t.label(0x100114) == "kmain+4")
        #expect(t.symbolize(0x100110)?.entry.isFunction == true)
        #expect(t.section(containing: 0x100110)?.name == ".text")
        #expect(t.lookup("vec")?.section == nil)            // an absolute symbol
        #expect(t.label(0x30) == nil)
        #expect(t.label(0x10_0000) == nil)                  // before the first symbol of its section
        let kmain = try #require(t.lookup("kmain"))
        if kmain.size > 0 {
            #expect(t.function(containing: 0x100110)?.end == 0x100110 + kmain.size)
        }
        let hello = SymbolTable(elf: try GuestLoader.read(GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/hello.elf").path))
        #expect(hello.label(0x100021) == "_start.wait")
        #expect(hello.lookup("COM1_LSR")?.address == 0x3fd)
        #expect(hello.function(containing: 0x100010)?.end == 0x100016)
    }
}
