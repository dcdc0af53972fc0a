import Testing
import Monitors
import PC
import X86

/// Runs a demo guest (demos/build/NAME.elf) under a technique, in process,
/// and returns its serial output and how it ended.
struct DemoRun {
    var output: String
    var stop: MachineStop
    var vm: VirtualMachine

    static let root: String = {
        // Tests/MonitorsTests/DemoRunner.swift → the package root.
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static func run(_ name: String, _ technique: Technique, maxInstructions: UInt64 = 100_000_000) throws -> DemoRun {
        try run(path: "demos/build/\(name).elf", technique, maxInstructions: maxInstructions)
    }

    /// Runs any guest file, by its path relative to the package root (e.g. "tests/guests/shadow.elf").
    static func run(path relative: String, _ technique: Technique, maxInstructions: UInt64 = 100_000_000) throws -> DemoRun {
        let path = root + "/" + relative
        guard let vm = VirtualMachine(technique: technique) else { throw LoadError(.malformed, path, "technique unavailable") }
        var bytes: [UInt8] = []
        vm.machine.onSerialOutput = { bytes.append($0) }
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        let stop = vm.run(maxInstructions: maxInstructions)
        return DemoRun(output: String(decoding: bytes, as: UTF8.self), stop: stop, vm: vm)
    }

    /// The recorded QEMU output of a demo (demos/expected/NAME.out).
    static func expected(_ name: String) throws -> String {
        try text(path: "demos/expected/\(name).out")
    }

    /// A text file by its path relative to the package root (a recorded output).
    static func text(path relative: String) throws -> String {
        String(decoding: try GuestLoader.read(root + "/" + relative), as: UTF8.self)
    }
}

extension DemoRun {
    /// The run printed QEMU's recorded output line by line and ended with its status.
    static func expectQEMU(_ name: String, _ run: DemoRun) throws {
        let want = try expected(name).lines
        let got = run.output.lines
        for (k, (w, g)) in zip(want, got).enumerated() where w != g {
            Issue.record("\(name) line \(k + 1): expected \"\(w)\", got \"\(g)\"")
        }
        #expect(got.count == want.count, "\(name): \(got.count) lines, expected \(want.count)")
        let status = Int32(try text(path: "demos/expected/\(name).status").filter(\.isNumber)) ?? -1
        #expect(run.stop.exitStatus == status, "\(name): status \(run.stop.exitStatus), expected \(status)")
    }
}

extension String {
    /// Lines without their "\r\n" ends.
    /// ("\r\n" is one Character in Swift, so split on either form.)
    var lines: [String] {
        split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
    }
}
