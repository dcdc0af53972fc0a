import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

// A debugging session: the machine and the guest loaded into it, its
// symbols, breakpoints, displays, value history and convenience variables.
// `execute` turns one line of the command language into a CommandResult;
// nothing here prints.  Technique: `native` (the guest runs on the bare CPU,
// so what it sees is real); the monitors will add the others.

public struct SessionOptions: Sendable {
    public var technique = "native"
    public var memoryMiB = 32
    public var guest = GuestOptions()
    /// At most this many instructions per running command (continue, finish…).
    public var maxInstructions: UInt64?
    public init() {}
}

public final class Session {
    public static let techniques = ["native", "trap", "bt", "vtx", "pv"]

    public let path: String
    let bytes: [UInt8]
    public let options: SessionOptions
    public private(set) var machine: Machine
    public private(set) var guest: LoadedGuest
    public let symbols: SymbolTable
    public var technique: String { options.technique }
    var cpu: CPU { machine.cpu }

    /// Set once the guest has ended (debug-exit, halt, triple fault…).
    public internal(set) var ended: MachineStop?
    var breakpoints: [Breakpoint] = []
    var nextBreakpointNumber = 1
    var displays: [Display] = []
    var nextDisplayNumber = 1
    public internal(set) var history: [Value] = []
    var variables: [String: Value] = [:]
    /// The breakpoint of the last stop (for `continue N`) and the last caught trap (passed once on resume).
    var lastStopBreakpoint: Int?
    var lastCatch: (vector: UInt8, address: UInt32)?
    /// `x` remembers its format, size and where it stopped.
    var examineLetter: Character = "x"
    var examineSize: Character = "w"
    var examineNext: UInt32?
    var serialBuffer: [UInt8] = []
    var hooks = HookState()
    var interruptProxy: InterruptProxy?
    var stopCounts: [String: Int] = [:]
    /// Files being sourced (to refuse recursion).
    var sourcing: [String] = []
    /// Outputs of the command being executed.
    var out: [Output] = []

    /// Loads the guest at `path` into a standard PC.
    public init(guestPath: String, options: SessionOptions = SessionOptions()) throws(LoadError) {
        guard options.technique == "native" else {
            throw LoadError(.malformed, guestPath, "technique '\(options.technique)' is not available yet")
        }
        path = guestPath
        self.options = options
        bytes = try GuestLoader.read(guestPath)
        machine = Machine.standardPC(memoryMiB: options.memoryMiB)
        guest = try GuestLoader.load(bytes, path: guestPath, into: machine, options: options.guest)
        symbols = SymbolTable(elf: bytes, fallback: guest.symbols)
        wireMachine()
    }

    private func wireMachine() {
        machine.onSerialOutput = { [unowned self] b in self.serialBuffer.append(b) }
    }

    /// Loads the guest again into a fresh machine (`technique native`).
    func restart() throws(CommandError) {
        let m = Machine.standardPC(memoryMiB: options.memoryMiB)
        do {
            guest = try GuestLoader.load(bytes, path: path, into: m, options: options.guest)
        } catch {
            throw CommandError(error.description)
        }
        machine = m
        wireMachine()
        ended = nil
        serialBuffer = []
        lastStopBreakpoint = nil
        lastCatch = nil
        for b in breakpoints { b.hitCount = 0 }
        variables["_exitcode"] = nil
    }

    // MARK: - Executing

    /// Parses and executes one line.  Blank lines and comments do nothing.
    public func execute(_ line: String) -> CommandResult {
        var r = CommandResult()
        let command: Command?
        do { command = try CommandParser.parse(line) } catch {
            r.error = CommandError(error.message, column: error.column)
            return r
        }
        guard let command else { return r }
        return execute(command)
    }

    public func execute(_ command: Command) -> CommandResult {
        var r = CommandResult()
        out = []
        do {
            try run(command, &r)
        } catch {
            r.error = error
        }
        flushSerial()
        r.outputs = out
        out = []
        return r
    }

    func emit(_ s: String) { out.append(.text(s)) }
    func line(_ s: String) { out.append(.text(s + "\n")) }

    func flushSerial() {
        if !serialBuffer.isEmpty { out.append(.serial(serialBuffer)); serialBuffer = [] }
    }

    func requireRunning() throws(CommandError) {
        if ended != nil { throw CommandError("The program is not being run.") }
    }

    static func notUnderNative() -> CommandError { CommandError("not available under native") }

    private func run(_ command: Command, _ r: inout CommandResult) throws(CommandError) {
        switch command {
        case .breakpoint(let loc, let temporary, let cond, let text):
            try setBreakpoint(loc, temporary: temporary, condition: cond, text: text)
        case .delete(let list): try deleteBreakpoints(list)
        case .disable(let list): try enableBreakpoints(list, enable: false, mode: .keep)
        case .enable(let list, let mode): try enableBreakpoints(list, enable: true, mode: mode)
        case .deleteDisplay(let list): deleteDisplays(list)
        case .enableDisplay(let list, let on): enableDisplays(list, on)
        case .condition(let n, let e, let text): try setCondition(n, e, text)
        case .ignore(let n, let e): try setIgnore(n, e)
        case .continue(let n): try continueCommand(n)
        case .stepi(let n): try stepCommand(n, over: false)
        case .nexti(let n): try stepCommand(n, over: true)
        case .finish: try finishCommand()
        case .until(let loc): try untilCommand(loc, advance: false)
        case .advance(let loc): try untilCommand(loc, advance: true)
        case .examine(let f, let e): try examine(f, e)
        case .print(let f, let e): try printCommand(f, e)
        case .output(let f, let e):
            let v = try evaluate(e)
            emit(formatValue(v, f.letter))
        case .set(let e): _ = try evaluate(e)
        case .setting: break
        case .display(let f, let e, let text): try displayCommand(f, e, text)
        case .watch: throw CommandError("watchpoints are not available yet")
        case .info(let topic): try info(topic)
        case .disassemble(let range, let raw): try disassemble(range, raw: raw)
        case .source(let file): try source(file, &r)
        case .echo(let bytes): emit(String(decoding: bytes, as: UTF8.self))
        case .help(let words): try help(words)
        case .quit(let e):
            r.quit = true
            if let e { r.quitStatus = Int32(truncatingIfNeeded: try evaluate(e).integer) }
        case .technique(let name): try techniqueCommand(name)
        case .catch(let kind): try setCatchpoint(kind)
        case .translate, .traps, .compare: throw Session.notUnderNative()
        case .stats: stats()
        }
    }

    func techniqueCommand(_ name: String?) throws(CommandError) {
        guard let name else { line("The current technique is \"\(technique)\"."); return }
        guard Session.techniques.contains(name) else {
            throw CommandError("unknown technique '\(name)' (native, trap, bt, vtx or pv)")
        }
        guard name == "native" else { throw CommandError("technique '\(name)' is not available yet") }
        try restart()
        line("Restarted the guest under native: it runs on the bare CPU.")
    }

    // MARK: - Memory (no side effects on the guest: no accessed bits, no CR2, no TLB fill)

    /// Linear → physical by the guest's own walk; nil when unmapped or outside RAM.
    public func physical(_ lin: UInt32) -> UInt32? {
        let phys: UInt32
        if cpu.pagingEnabled {
            guard let p = cpu.walk(lin).physical else { return nil }
            phys = p
        } else {
            phys = lin
        }
        return phys < cpu.ramSize ? phys : nil
    }

    /// Reads guest-linear memory as the debugger sees it (page protection ignored, as gdb through QEMU).
    public func readMemory(_ lin: UInt32, count: Int) throws(CommandError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            let a = lin &+ UInt32(truncatingIfNeeded: k)
            guard let p = physical(a) else { throw Session.cannotAccess(a) }
            out.append(cpu.ram[Int(p)])
        }
        return out
    }

    func read(_ lin: UInt32, size: Int) throws(CommandError) -> UInt64 {
        let b = try readMemory(lin, count: size)
        var v: UInt64 = 0
        for (k, byte) in b.enumerated() { v |= UInt64(byte) << (8 * UInt64(k)) }
        return v
    }

    /// Writes guest-linear memory; decoded blocks over the bytes are dropped by the CPU.
    func write(_ lin: UInt32, size: Int, _ v: UInt64) throws(CommandError) {
        var phys: [UInt32] = []
        for k in 0..<size {
            let a = lin &+ UInt32(k)
            guard let p = physical(a) else { throw Session.cannotAccess(a) }
            phys.append(p)
        }
        for (k, p) in phys.enumerated() { cpu.writePhysical(p, 1, UInt32(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    static func cannotAccess(_ a: UInt32) -> CommandError {
        CommandError("Cannot access memory at address 0x\(String(a, radix: 16))")
    }

    var memoryReader: GDBFormat.MemoryReader {
        { [unowned self] a, n in try? self.readMemory(a, count: n) }
    }

    /// CS:EIP as a linear address.
    public var linearEIP: UInt32 { cpu.segs[Seg.cs].base &+ cpu.eip }

    func formatValue(_ v: Value, _ letter: Character?) -> String {
        GDBFormat.value(v, format: letter, symbols: symbols, memory: memoryReader)
    }

    // MARK: - source

    func source(_ file: String, _ result: inout CommandResult) throws(CommandError) {
        guard let text = Session.readTextFile(file) else { throw CommandError("\(file): No such file or directory.") }
        guard !sourcing.contains(file) else { throw CommandError("\(file): recursive source.") }
        sourcing.append(file)
        defer { sourcing.removeLast() }
        var collected = out
        for (n, text) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let r = execute(String(text))
            collected += r.outputs
            out = collected
            if var e = r.error {
                if e.file == nil { e.file = file; e.line = n + 1 }
                throw e
            }
            if r.quit { result.quit = true; result.quitStatus = r.quitStatus; return }
        }
    }

    /// A whole text file, or nil when it cannot be read.
    public static func readTextFile(_ path: String) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { bytes += buf[0..<n] }
            if n < buf.count { break }
        }
        if ferror(f) != 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
