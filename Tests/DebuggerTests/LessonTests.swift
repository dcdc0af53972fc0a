// The lesson verbs (Sources/Debugger/Lesson.swift): parsing, what each does
// to a session, how a lesson reads as a transcript, how a failed expectation
// ends it, and the lesson header.  The lessons themselves run in batch mode
// under every technique they name in tools/check-lessons.sh (make test).

import Foundation
import Testing
@testable import Debugger
import Monitors
import PC

@Suite("Lesson verbs")
struct LessonVerbTests {
    func parse(_ s: String) throws -> Command? { try CommandParser.parse(s) }

    @Test("each verb parses; note and expect-output keep their text verbatim")
    func parsing() throws {
        #expect(try parse("note The *CPL* is `cs & 3` # not a comment") == .lesson(.note("The *CPL* is `cs & 3` # not a comment")))
        #expect(try parse("note") == .lesson(.note("")))
        #expect(try parse("pause") == .lesson(.pause))
        #expect(try parse("expect-output trap: #GP vector=13") == .lesson(.expectOutput("trap: #GP vector=13")))
        guard case .lesson(.expect(let e, let text))? = try parse("expect ($cs & 3) == 3   # ring 3") else {
            Issue.record("expect did not parse"); return
        }
        #expect(text == "($cs & 3) == 3")
        #expect(e == (try ExpressionParser.parse("($cs & 3) == 3")))
        #expect(try parse("focus traps") == .lesson(.focus(.traps)))
        #expect(try parse("focus trap-log") == .lesson(.focus(.traps)))
        #expect(try parse("focus reg") == .lesson(.focus(.registers)))
        #expect(try parse("highlight trap silent") == .lesson(.highlight(.newestTrap(kind: "silent"))))
        #expect(try parse("highlight trap") == .lesson(.highlight(.newestTrap(kind: nil))))
        #expect(try parse("highlight trap 12") == .lesson(.highlight(.trap(12))))
        #expect(try parse("highlight off") == .lesson(.highlight(.off)))
        #expect(try parse("highlight *0x100010") == .lesson(.highlight(.address(.literal(.literal(0x100010)), text: "*0x100010"))))
        #expect(try parse("file demos/build/rings.elf") == .file("demos/build/rings.elf"))
        // Existing abbreviations keep meaning what they meant.
        #expect(try parse("fin") == .finish)
        #expect(try parse("n") == .nexti(nil))
    }

    @Test("argument errors name their column")
    func errors() {
        let cases: [(String, String, Int)] = [
            ("pause now", "The \"pause\" command does not take any arguments.", 7),
            ("expect", "Argument required (expression that must be true).", 7),
            ("expect-output", "Argument required (text the previous output must contain).", 14),
            ("focus stage", "Unknown panel \"stage\" (one of: registers, rings, code, traps, memory, serial, command).", 7),
            ("highlight trap bogus", "Unknown event kind \"bogus\" (a sequence number or one of: exception, emulated, silent, callout, vmexit, hypercall, injection, shadow-fault, pt-write, translation, invalidation).", 16),
            ("file", "Argument required (a guest file).", 5),
        ]
        for (line, message, column) in cases {
            do {
                _ = try CommandParser.parse(line)
                Issue.record("\(line) parsed")
            } catch {
                #expect(error.message == message, "\(line)")
                #expect(error.column == column, "\(line)")
            }
        }
    }

    @Test("note and pause are outputs for the front ends; expect is silent when it holds")
    func outputs() throws {
        let s = try session("hello.elf")
        #expect(s.execute("note A *note*").outputs == [.note("A *note*")])
        #expect(s.execute("pause").outputs == [.pause])
        #expect(s.execute("focus code").outputs == [.focus(.code)])
        let ok = s.execute("expect $eip == _start")
        #expect(ok.error == nil && ok.outputs.isEmpty)
    }

    @Test("a failed expect says what was expected and what the values are")
    func failedExpect() throws {
        let s = try session("hello.elf")
        #expect(s.execute("expect $eax == 0x1234").error?.message == "expectation failed: $eax == 0x1234 (it is 0x2badb002 (732803074))")
        #expect(s.execute("expect $eip != _start").error?.message.hasPrefix("expectation failed: $eip != _start (left 0x100010") == true)
        #expect(s.execute("expect 0").error?.message == "expectation failed: 0 (it is 0)")
        #expect(s.execute("expect $nothing").error?.message == "expectation failed: $nothing (no value)")
    }

    @Test("expect-output looks at the previous command, not at lesson verbs")
    func expectOutput() throws {
        let s = try session("hello.elf")
        #expect(s.execute("expect-output x").error?.message.contains("no command has run yet") == true)
        _ = s.execute("break _start.wait")
        _ = s.execute("continue")
        _ = s.execute("note Stopped.")
        _ = s.execute("expect $eip == _start.wait")
        #expect(s.execute("expect-output Breakpoint 1, 0x00100021 in _start.wait ()").error == nil)
        #expect(s.execute("expect-output Continuing.").error == nil)
        let bad = s.execute("expect-output Catchpoint")
        #expect(bad.error?.message == "expectation failed: the previous command's output does not contain \"Catchpoint\" (it began \"Continuing.\")")
        // Guest serial output counts, with CR LF read as LF.
        _ = s.execute("delete")
        _ = s.execute("continue")
        #expect(s.execute("expect-output Hello from Ringside!\nThis line").error == nil)
    }

    @Test("built-in variables: the real and the guest-visible CPL, and trap-log counts")
    func builtins() throws {
        var o = SessionOptions()
        o.technique = "trap"
        o.maxInstructions = 5_000_000
        let s = try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/sensitive.elf").path, options: o)
        _ = s.execute("break _start.reload_cs")
        _ = s.execute("continue")
        for e in ["$_cpl == 1", "$_guest_cpl == 0", "$_emulated > 0", "$_silent >= 1", "$_events == $_emulated + $_silent + $_shadow_fault",
                  "$_cycles > $_instructions"] {
            #expect(s.execute("expect " + e).error == nil, "\(e)")
        }
        #expect(s.execute("print $_vmexit").outputs.first?.rendered == "$1 = 0\n")
        _ = s.execute("set $_cpl = 7")
        #expect(s.execute("expect $_cpl == 7").error == nil)   // a variable the user sets wins
    }

    @Test("highlight resolves an address or the newest event of a kind")
    func highlight() throws {
        var o = SessionOptions()
        o.technique = "trap"
        let s = try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/sensitive.elf").path, options: o)
        #expect(s.execute("highlight _start").outputs == [.highlight(.address(0x100129), text: "0x00100129 <_start>: cli")])
        #expect(s.execute("highlight trap").error?.message == "No events in the trap log.")
        _ = s.execute("stepi")
        guard case .highlight(.trap(let n), let text)? = s.execute("highlight trap emulated").outputs.first else {
            Issue.record("no highlight"); return
        }
        #expect(s.vm.log.entries.first { $0.sequence == n }?.kind == .emulated)
        #expect(text.hasPrefix("trap-log entry \(n): emulated cli at 0x00100129 (CPL 0/1)"))
        #expect(s.execute("highlight").outputs == [.highlight(.none, text: "nothing")])
    }

    @Test("file loads another guest under the same technique, with its symbols")
    func file() throws {
        let s = try session("hello.elf")
        let path = GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/rings.elf").path
        let r = s.execute("file " + path)
        #expect(r.error == nil)
        #expect(r.text.hasPrefix("Reading symbols from \(path)... done.\n"))
        #expect(s.execute("break t_cli").error == nil)
        _ = s.execute("continue")
        #expect(s.execute("expect $_cpl == 3 && $eip == t_cli").error == nil)
        #expect(s.execute("file /nonexistent.elf").error != nil)
        #expect(s.path == path)
    }
}

@Suite("Lesson transcripts")
struct LessonTranscriptTests {
    static func transcript(_ text: String, guest: String = "hello.elf") throws -> (String, Int32) {
        let s = try session(guest)
        var writer = TranscriptWriter()
        var out = ""
        let runner = ScriptRunner(session: s) { out += writer.render($0) }
        let outcome = runner.run(text: text, file: "lesson.rsc")
        return (out, outcome.exitStatus(s))
    }

    @Test("notes stand apart behind a bar, unechoed; pauses print nothing; a failed expect ends with FILE:LINE")
    func transcript() throws {
        let (out, status) = try Self.transcript("""
            # guest: demos/build/hello.elf
            note Lesson 0: *hello*.
            note The guest writes to `COM1`.
            pause
            break _start.wait
            expect-output Breakpoint 1
            note Now a wrong claim:
            expect $eax == 1
            note never shown
            """)
        #expect(out == """
            │ Lesson 0: *hello*.
            │ The guest writes to `COM1`.

            (ringside) break _start.wait
            Breakpoint 1 at 0x100021
            (ringside) expect-output Breakpoint 1

            │ Now a wrong claim:

            (ringside) expect $eax == 1
            lesson.rsc:8: error: expectation failed: $eax == 1 (it is 0x2badb002 (732803074))

            """)
        #expect(status == 1)
    }

    @Test("long notes wrap at 78 columns behind the bar")
    func wrapping() {
        let text = NoteText.transcript(String(repeating: "word ", count: 30))
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.count <= 78 && $0.hasPrefix("│ word") })
    }
}

@Suite("Note text")
struct NoteTextTests {
    @Test("emphasis and code; a lone star is a star")
    func spans() {
        #expect(NoteText.spans("the *real* CPL is `$cs & 3`") == [.plain("the "), .emphasis("real"), .plain(" CPL is "), .code("$cs & 3")])
        #expect(NoteText.spans("x/4xw *ADDR and 2 * 3") == [.plain("x/4xw *ADDR and 2 * 3")])
        #expect(NoteText.spans("`*not* emphasis`") == [.code("*not* emphasis")])
        #expect(NoteText.spans("an `unclosed quote") == [.plain("an `unclosed quote")])
    }

    @Test("wrapping keeps styles and breaks at blanks")
    func wrap() {
        let lines = NoteText.wrap([.plain("one two "), .code("three"), .plain(" four")], width: 9)
        #expect(lines == [[.plain("one"), .plain(" "), .plain("two")], [.code("three")], [.plain("four")]])
        #expect(NoteText.wrap([.plain("abcdefghijkl")], width: 8) == [[.plain("abcdefgh")], [.plain("ijkl")]])
    }
}

@Suite("Lesson header")
struct LessonHeaderTests {
    @Test("title, guest, techniques and limit come from the leading comments")
    func parse() {
        let h = LessonHeader.parse("""
            # Lesson 3: the holes
            # guest: demos/build/sensitive.elf
            # technique: trap, native
            # max-instructions: 1000

            # guest: ignored.elf (the first line of a key counts)
            note hi
            # technique: vtx
            """)
        #expect(h.title == "Lesson 3: the holes")
        #expect(h.guest == "demos/build/sensitive.elf")
        #expect(h.techniques == ["trap", "native"])
        #expect(h.maxInstructions == 1000)
    }

    @Test("--technique must be one the lesson lists; the first is the default")
    func technique() throws {
        var h = LessonHeader()
        #expect(try h.technique(requested: nil) == "native")
        #expect(try h.technique(requested: "vtx") == "vtx")
        h.techniques = ["trap", "native"]
        #expect(try h.technique(requested: nil) == "trap")
        #expect(try h.technique(requested: "native") == "native")
        #expect(throws: CommandError("this lesson runs under trap, native, not pv")) { try h.technique(requested: "pv") }
    }

    @Test("a relative guest is found from the current directory, the lesson's, or its parent")
    func guestPath() {
        var h = LessonHeader()
        h.guest = "demos/build/hello.elf"
        let exists: (String) -> Bool = { $0 == "/repo/lessons/../demos/build/hello.elf" || $0 == "/repo/demos/build/hello.elf" }
        #expect(h.guestPath(lessonPath: "/repo/lessons/01.rsc", exists: exists) == "/repo/demos/build/hello.elf")
        #expect(h.guestPath(lessonPath: "/elsewhere/01.rsc", exists: exists) == nil)
        h.guest = "/abs.elf"
        #expect(h.guestPath(lessonPath: "x.rsc", exists: { _ in false }) == "/abs.elf")
    }
}

@Suite("Lesson files")
struct LessonFileTests {
    static let directory = GoldenFiles.repositoryRoot.appendingPathComponent("lessons")
    static var files: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "rsc" }.sorted { $0.path < $1.path }
    }

    @Test("lessons/ holds the eight lessons of issue 9")
    func eight() {
        #expect(Self.files.map { String($0.lastPathComponent.prefix(3)) } == ["01-", "02-", "03-", "04-", "05-", "06-", "07-", "08-"])
    }

    @Test("each names a title, an existing guest and known techniques; every line parses; notes fit a transcript")
    func wellFormed() throws {
        for url in Self.files {
            let name = url.lastPathComponent
            let text = try String(contentsOf: url, encoding: .utf8)
            let h = LessonHeader.parse(text)
            #expect(h.title?.hasPrefix("Lesson ") == true, "\(name): title")
            let guest = h.guestPath(lessonPath: url.path) { FileManager.default.fileExists(atPath: $0) }
            #expect(guest != nil, "\(name): guest \(h.guest ?? "none")")
            #expect(!h.techniques.isEmpty && h.techniques.allSatisfy(Session.techniques.contains), "\(name): techniques")
            var expectations = 0
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                do {
                    let c = try CommandParser.parse(String(line))
                    if case .lesson(.note(let t))? = c { #expect(t.count <= 76, "\(name):\(n + 1): note wider than 76") }
                    if case .lesson(.expect)? = c { expectations += 1 }
                    if case .lesson(.expectOutput)? = c { expectations += 1 }
                } catch {
                    Issue.record("\(name):\(n + 1):\(error.column): \(error.message)")
                }
            }
            #expect(expectations >= 8, "\(name): only \(expectations) expectations")
        }
    }
}

@Suite("Resuming under a monitor")
struct ResumeTests {
    @Test("a breakpoint on user code that first takes a hidden page fault is passed over, not hit twice")
    func hiddenFaultAtBreakpoint() throws {
        var o = SessionOptions()
        o.technique = "trap"
        o.maxInstructions = 5_000_000
        let s = try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/rings.elf").path, options: o)
        _ = s.execute("break t_syscall")
        _ = s.execute("continue")
        #expect(s.execute("expect $eip == t_syscall && $_cpl == 3").error == nil)
        let step = s.execute("stepi")
        #expect(step.error == nil)
        #expect(s.execute("expect $eip != t_syscall").error == nil, "stepi did not leave the breakpoint")
        // And the lesson-3 point of it: through INT 0x80 the kernel arrives in ring 1, not 0.
        _ = s.execute("catch trap 0x80")
        _ = s.execute("continue")
        _ = s.execute("stepi")
        #expect(s.execute("expect $cs == 9 && $_guest_cpl == 0").error == nil)
    }
}
