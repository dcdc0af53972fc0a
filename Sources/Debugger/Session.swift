import Monitors
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

// A debugging session: the guest under one technique (a Monitors
// VirtualMachine: the machine, its monitor, the trap log), its symbols,
// breakpoints, displays, value history and convenience variables.
// `execute` turns one line of the command language into a CommandResult;
// nothing here prints.  Under `native` the guest runs on the bare CPU, so
// what it sees is real; under a monitor (`trap`, `pv`) the CPU runs the
// monitor's state, memory commands look through the guest's own page
// tables, and the virtualization verbs (Virtualization.swift) show both.

public struct SessionOptions: Sendable {
    public var technique = "native"
    public var memoryMiB = 32
    /// Memory virtualization under vtx: shadow paging or EPT (`technique vtx ept`).
    public var paging = VTxPaging.ept
    public var guest = GuestOptions()
    /// At most this many instructions per running command (continue, finish…).
    public var maxInstructions: UInt64?
    public init() {}
}

public final class Session {
    public static let techniques = ["native", "trap", "bt", "vtx", "pv"]

    /// The guest file and its bytes; `file PATH` changes them.
    public internal(set) var path: String
    var bytes: [UInt8]
    public private(set) var options: SessionOptions
    /// The guest under its technique; replaced by `technique NAME`.
    public private(set) var vm: VirtualMachine
    public var machine: Machine { vm.machine }
    public var monitor: Monitor { vm.monitor }
    public private(set) var guest: LoadedGuest
    public internal(set) var symbols: SymbolTable
    public var technique: String { vm.technique.rawValue }
    var isNative: Bool { vm.technique == .native }
    var cpu: CPU { vm.machine.cpu }
    /// Code breakpoints someone else keeps in the CPU's set (the gdb stub's):
    /// every run keeps them there besides the session's own.
    public var externalBreakpoints: Set<UInt32> = []
    /// Watched ranges someone else keeps in the CPU's list (the gdb stub's), likewise.
    public var externalWatchpoints: [Watchpoint] = []
    /// A front end that stays live while the guest runs (LiveRun.swift); nil runs in one go.
    public weak var runObserver: RunObserver?

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
    /// The last stop was a watchpoint's: EIP is after the access, and a
    /// breakpoint there has not been reported yet (the next run stops at it).
    var stoppedAfterWatch = false
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
    /// What the lesson verbs remember (Lesson.swift).
    var lessonState = LessonState()

    /// Loads the guest at `path` into a standard PC under `options.technique`.
    public init(guestPath: String, options: SessionOptions = SessionOptions()) throws(LoadError) {
        path = guestPath
        self.options = options
        bytes = try GuestLoader.read(guestPath)
        guard let t = Technique(rawValue: options.technique) else {
            throw LoadError(.malformed, guestPath, "unknown technique '\(options.technique)' (native, trap, bt, vtx or pv)")
        }
        guard let vm = VirtualMachine(technique: t, memoryMiB: options.memoryMiB, paging: options.paging) else {
            throw LoadError(.malformed, guestPath, "technique '\(options.technique)' is not available yet")
        }
        self.vm = vm
        guest = try vm.load(bytes, path: guestPath, options: options.guest)
        symbols = SymbolTable(elf: bytes, fallback: guest.symbols)
        wireMachine()
    }

    private func wireMachine() {
        machine.onSerialOutput = { [unowned self] b in self.serialBuffer.append(b) }
    }

    /// Loads the guest again into a fresh machine under `technique` (`technique NAME`).
    func restart(_ technique: Technique) throws(CommandError) {
        guard let v = VirtualMachine(technique: technique, memoryMiB: options.memoryMiB, paging: options.paging) else {
            throw CommandError("technique '\(technique.rawValue)' is not available yet")
        }
        do {
            guest = try v.load(bytes, path: path, options: options.guest)
        } catch {
            throw CommandError(error.description)
        }
        vm = v
        options.technique = technique.rawValue
        wireMachine()
        ended = nil
        serialBuffer = []
        lastStopBreakpoint = nil
        lastCatch = nil
        stoppedAfterWatch = false
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
        remember(command, r)
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
    /// "not available under TECHNIQUE": the verb does not apply to this technique.
    func notAvailable() -> CommandError { CommandError("not available under \(technique)") }

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
        case .watch(let kind, let e, let text, let cond, let condText):
            try setWatchpoint(kind, e, text: text, condition: cond, conditionText: condText)
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
        case .translate(let e): try translateCommand(e)
        case .traps(let kind, let last): try trapsCommand(kind: kind, last: last)
        case .compare: try compareCommand()
        case .stats: stats()
        case .lesson(let verb): try lesson(verb)
        case .file(let path): try fileCommand(path)
        }
    }

    func techniqueCommand(_ name: String?) throws(CommandError) {
        guard let name else { line("The current technique is \"\(technique)\"."); return }
        let (t, paging) = try Session.techniqueWords(name)
        if let paging { options.paging = paging }
        try restart(t)
        let shown = t == .vtx ? "vtx (" + (options.paging == .ept ? "EPT" : "shadow paging") + ")" : name
        line("Restarted the guest under \(shown): " + Session.techniqueNote(t))
    }

    // MARK: - Memory (no side effects on the guest: no accessed bits, no CR2, no TLB fill)

    /// Linear → physical by the guest's own walk (guest-physical under a
    /// monitor); nil when unmapped or outside RAM.
    public func physical(_ lin: UInt32) -> UInt32? {
        guard isNative else { return monitor.guestPhysical(linear: lin) }
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
    /// Under a monitor, through the guest's own page tables (`Monitor.guestBytes`).
    public func readMemory(_ lin: UInt32, count: Int) throws(CommandError) -> [UInt8] {
        let b = readable(lin, count: count)
        if b.count < count { throw Session.cannotAccess(lin &+ UInt32(b.count)) }
        return b
    }

    /// The bytes at `lin` up to the first unreadable one (at most `count`).
    func readable(_ lin: UInt32, count: Int) -> [UInt8] {
        guard isNative else { return count == 0 ? [] : monitor.guestBytes(linear: lin, count: count) ?? [] }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            guard let p = physical(lin &+ UInt32(truncatingIfNeeded: k)) else { break }
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
    /// Under a monitor: guest-physical by the guest's walk, then host-physical.
    func write(_ lin: UInt32, size: Int, _ v: UInt64) throws(CommandError) {
        var phys: [(host: UInt32, guest: UInt32)] = []
        for k in 0..<size {
            let a = lin &+ UInt32(k)
            guard let p = physical(a) else { throw Session.cannotAccess(a) }
            if isNative {
                phys.append((p, p))
            } else {
                guard let h = monitor.hostPhysical(p) else { throw Session.cannotAccess(a) }
                phys.append((h, p))
            }
        }
        for (k, p) in phys.enumerated() { cpu.writePhysical(p.host, 1, UInt32(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
        if !isNative { for p in phys { monitor.debuggerWrote(guestPhysical: p.guest) } }
    }

    static func cannotAccess(_ a: UInt32) -> CommandError {
        CommandError("Cannot access memory at address 0x\(String(a, radix: 16))")
    }

    var memoryReader: GDBFormat.MemoryReader {
        { [unowned self] a, n in try? self.readMemory(a, count: n) }
    }

    /// CS:EIP as a linear address.
    /// Where the guest is: CS base + EIP in the guest's terms (under `bt`,
    /// translated code maps back to the guest instruction it came from).
    public var linearEIP: UInt32 { monitor.guestLinear(ofReal: realEIP) }
    /// Where the CPU really is (the translation cache under `bt`).
    public var realEIP: UInt32 { cpu.segs[Seg.cs].base &+ cpu.eip }

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
        guard let bytes = try? GuestLoader.contents(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
