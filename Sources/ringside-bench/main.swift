// ringside-bench: guest MIPS of the CPU core on demos/build/bench.bin, run
// in-process, with and without intercepts installed (they must cost nothing
// when nothing triggers them).  `make bench` runs it from a release build;
// it prints figures and never fails on a slow machine.

import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "demos/build/bench.bin"
let image: [UInt8]
do { image = try GuestLoader.read(path) } catch {
    print("ringside-bench: \(error)")
    exit(66)
}

/// One timed run of the flat benchmark; `configure` installs intercepts.
/// Prints its line (unless `label` is nil) and returns the MIPS figure.
@discardableResult
func measure(_ label: String?, _ configure: (CPU) -> Void) -> Double {
    let m = Machine.standardPC(memoryMiB: 32)
    var options = GuestOptions()
    options.flat = true
    do { _ = try GuestLoader.load(image, path: path, into: m, options: options) } catch {
        print("ringside-bench: \(error)"); exit(65)
    }
    configure(m.cpu)
    let start = seconds()
    let stop = m.run()
    let t = seconds() - start
    let n = m.cpu.instructions
    let mips = Double(n) / t / 1e6
    if let label {
        print("\(label + String(repeating: " ", count: max(0, 40 - label.count))) \(n) instructions  \(String(Int(t * 1000))) ms  \(String(Int(mips))) MIPS  eax=\(hex(m.cpu.eax))  (\(stop))")
    }
    return mips
}

/// A configuration against plain runs, alternating, best of three of each:
/// a busy host slows both alike, and the best run is the least disturbed.
func relativeToPlain(_ label: String, _ configure: (CPU) -> Void) {
    var best = 0.0, plain = 0.0
    for _ in 0..<3 {
        plain = max(plain, measure(nil) { _ in })
        best = max(best, measure(nil, configure))
    }
    let percent = plain > 0 ? Int((best / plain * 100).rounded()) : 0
    print("\(label + String(repeating: " ", count: max(0, 40 - label.count))) \(String(Int(best))) MIPS, plain \(String(Int(plain))) MIPS: \(percent)% of plain (best of 3 each, alternating)")
}

measure("no intercepts") { _ in }
measure("exception intercept + system observer") { cpu in
    cpu.exceptionIntercept = { _, _ in .deliver }
    cpu.systemRegisterObserver = { _, _ in }
}
measure("instruction intercept on hypercalls") { cpu in
    cpu.instructionIntercept = { _, _ in false }
    cpu.interceptTraits = [.hypercall]
}
measure("50 breakpoints away from the hot path") { cpu in
    // The debugger's `continue` with breakpoints set elsewhere (issue: at least 90% of plain speed).
    cpu.breakpoints = Set((0..<50).map { 0x0020_0000 + UInt32($0) * 0x40 })
}

relativeToPlain("1 watchpoint away from the hot path") { cpu in
    // The debugger's `continue` with `awatch` on a dword the benchmark never
    // touches: that page loses its fast TLB entries, every other page keeps
    // them, and the fast paths are the instructions they were without it.
    cpu.watchpoints = [Watchpoint(address: 0x0030_0000, length: 4, kind: .access)]
}

// The TUI: one step and its redraw at 200x60 (Redraw.swift).
measureRedraw()
