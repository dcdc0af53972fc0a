// Golden transcripts: each Golden/NAME.rsc runs in batch mode against a demo
// guest (its `# guest: FILE` line names one in demos/build/; `# technique: T`
// runs it under a technique other than native) and the
// transcript must equal Golden/NAME.out byte for byte.  The last line of a
// .out is `# exit status N`, the status `ringside --batch` would exit with.
//
// Re-recording is on purpose only: RINGSIDE_RECORD=1 swift test --filter Golden
// rewrites the .out files in the source tree; without it a missing or
// different transcript fails.

import Foundation
import Testing
@testable import Debugger
import PC

enum GoldenFiles {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repositoryRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    static let sourceDirectory = testsDirectory.appendingPathComponent("Golden")
    static var bundleDirectory: URL { Bundle.module.resourceURL!.appendingPathComponent("Golden") }
    static let recording = ProcessInfo.processInfo.environment["RINGSIDE_RECORD"] == "1"

    /// The scripts, by name without extension (from the test bundle's copy).
    static let names: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: bundleDirectory.path)) ?? []
        return files.filter { $0.hasSuffix(".rsc") }.map { String($0.dropLast(4)) }.sorted()
    }()

    static func script(_ name: String) throws -> String {
        try String(contentsOf: bundleDirectory.appendingPathComponent(name + ".rsc"), encoding: .utf8)
    }

    /// A header value such as `# guest: hello.elf`.
    static func header(_ script: String, _ key: String) -> String? {
        for line in script.split(separator: "\n") where line.hasPrefix("# \(key): ") {
            return String(line.dropFirst(key.count + 4))
        }
        return nil
    }

    static func guestPath(_ script: String) -> String {
        repositoryRoot.appendingPathComponent("demos/build/" + (header(script, "guest") ?? "hello.elf")).path
    }

    /// Runs a script in process, as `ringside GUEST --batch -x NAME.rsc` would.
    static func transcript(_ name: String) throws -> String {
        let text = try script(name)
        var options = SessionOptions()
        options.maxInstructions = header(text, "max-instructions").flatMap { UInt64($0) } ?? 50_000_000
        options.technique = header(text, "technique") ?? "native"
        let session = try Session(guestPath: guestPath(text), options: options)
        var writer = TranscriptWriter()
        var out = ""
        let runner = ScriptRunner(session: session) { out += writer.render($0) }
        let outcome = runner.run(text: text, file: name + ".rsc")
        return out + "# exit status \(outcome.exitStatus(session))\n"
    }

    /// The first line where two transcripts differ, for the failure message.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let la = a.split(separator: "\n", omittingEmptySubsequences: false)
        let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
        for k in 0..<max(la.count, lb.count) {
            let x = k < la.count ? String(la[k]) : "<end>"
            let y = k < lb.count ? String(lb[k]) : "<end>"
            if x != y { return "line \(k + 1):\n  expected: \(y)\n  actual:   \(x)" }
        }
        return "(no difference)"
    }
}

@Suite("Golden transcripts")
struct GoldenTests {
    @Test("the golden scripts are there")
    func scriptsPresent() {
        #expect(GoldenFiles.names.count >= 10, "Golden/*.rsc in the test bundle")
    }

    @Test("transcript matches Golden/NAME.out", arguments: GoldenFiles.names)
    func golden(_ name: String) throws {
        let actual = try GoldenFiles.transcript(name)
        let recorded = GoldenFiles.sourceDirectory.appendingPathComponent(name + ".out")
        if GoldenFiles.recording {
            try actual.write(to: recorded, atomically: true, encoding: .utf8)
            return
        }
        let expectedURL = GoldenFiles.bundleDirectory.appendingPathComponent(name + ".out")
        guard let expected = try? String(contentsOf: expectedURL, encoding: .utf8) else {
            Issue.record("\(name).out is not recorded: run RINGSIDE_RECORD=1 swift test --filter Golden and review it")
            return
        }
        #expect(actual == expected, "\(name): \(GoldenFiles.firstDifference(actual, expected))")
    }

    @Test("the same transcript twice: runs are deterministic")
    func deterministic() throws {
        #expect(try GoldenFiles.transcript("rings-traps") == GoldenFiles.transcript("rings-traps"))
    }
}

/// The built `ringside` binary, end to end: transcript on stdout, exit status,
/// the error line on stderr.
@Suite("ringside --batch (the binary)")
struct BatchBinaryTests {
    static var binary: URL {
        Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("ringside")
    }

    func run(_ arguments: [String], stdin: String = "") throws -> (out: String, err: String, status: Int32) {
        let p = Process()
        p.executableURL = BatchBinaryTests.binary
        p.arguments = arguments
        p.currentDirectoryURL = GoldenFiles.sourceDirectory
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), p.terminationStatus)
    }

    func expected(_ name: String) throws -> (String, Int32) {
        let text = try String(contentsOf: GoldenFiles.sourceDirectory.appendingPathComponent(name + ".out"), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()      // after the final newline
        let status = Int32(lines.removeLast().dropFirst("# exit status ".count))!
        return (lines.joined(separator: "\n") + "\n", status)
    }

    @Test("hello-basics.rsc through the binary equals the in-process transcript")
    func helloBasics() throws {
        try #require(FileManager.default.isExecutableFile(atPath: BatchBinaryTests.binary.path),
                     "build the ringside product first (swift build)")
        let guest = GoldenFiles.guestPath(try GoldenFiles.script("hello-basics"))
        let r = try run([guest, "--batch", "--max-instructions", "50000000", "-x", "hello-basics.rsc"])
        let (transcript, status) = try expected("hello-basics")
        #expect(r.out == transcript)
        #expect(r.status == status)
        #expect(r.err == "")
    }

    @Test("an error stops the script: FILE:LINE: error on stderr too, exit status 1")
    func errorStops() throws {
        try #require(FileManager.default.isExecutableFile(atPath: BatchBinaryTests.binary.path))
        let guest = GoldenFiles.guestPath(try GoldenFiles.script("errors-stop"))
        let r = try run([guest, "--batch", "-x", "errors-stop.rsc"], stdin: "echo not run either\\n\n")
        let (transcript, status) = try expected("errors-stop")
        #expect(r.out == transcript)
        #expect(status == 1 && r.status == 1)
        #expect(r.err == "errors-stop.rsc:6: error: No symbol \"nosuchsymbol\" in current context.\n")
    }

    @Test("standard input runs after the files; the guest's exit status is the process's")
    func stdinAndStatus() throws {
        try #require(FileManager.default.isExecutableFile(atPath: BatchBinaryTests.binary.path))
        let guest = GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/hello.elf").path
        let r = try run([guest, "--batch"], stdin: "# comment\n\ncontinue\n")
        #expect(r.out == """
            (ringside) continue
            Continuing.
            Hello from Ringside!
            This line went out through COM1, one byte per LSR poll.
            [Inferior 1 (guest) exited with code 33]

            """)
        #expect(r.status == 33)
        let q = try run([guest, "--batch"], stdin: "quit 7\necho not reached\\n\n")
        #expect(q.out == "(ringside) quit 7\n")
        #expect(q.status == 7)
        let t = try run([guest, "--batch", "--technique", "nope"])
        #expect(t.status == 64)
        #expect(t.err.contains("nope"))
    }
}
