// A RemoteTarget straight over a PC.Machine and its X86.CPU, for the gdb
// stub before (and besides) the debugger's session.
//
// - Breakpoints (Z0 and Z1 alike) go into the CPU's `breakpoints` set of
//   linear addresses: the run loop stops before executing one, and
//   `resumeAddress` passes over the one the guest is stopped at.  Guest
//   memory is never patched with INT3.
// - Memory is read and written through the guest's page tables with the
//   side-effect-free `walk` (no accessed/dirty bits set, no CR2, no #PF),
//   and only where RAM is: a debugger's look must not poke a device.  Writes
//   go through `writePhysical`, which drops decoded blocks they overwrite.
// - Watchpoints (Z2 write, Z3 read, Z4 access) go into the CPU's
//   `watchpoints` list of linear ranges: the MMU sends accesses to watched
//   pages down the slow path, and the run stops after the instruction that
//   touched a range (X86/Watchpoints.swift).  The stop reply names the kind
//   and the first watched byte the access touched (`T05watch:ADDR;`); gdb
//   reads the value itself and decides what to show (for `watch`, nothing
//   unless it changed).
// - `monitor CMD` goes to `monitorHandler` first (`ringside gdb` runs the
//   debugger's command language there), then to a few built-ins.

import PC
import X86

public final class MachineTarget: RemoteTarget {
    public let machine: Machine
    public var cpu: CPU { machine.cpu }
    /// Instructions per slice of `resume` between looks at the socket.
    public var sliceInstructions: UInt64 = 50_000
    /// Runs `monitor` commands first; nil output falls through to the built-ins.
    public var monitorHandler: ((String) -> String?)?
    /// How the last run or step ended, as the machine said it.
    public private(set) var lastMachineStop: MachineStop?
    public private(set) var stopReason: StopEvent = .signal(StopEvent.sigtrap)
    /// Breakpoint addresses this target put into `cpu.breakpoints`, with how
    /// many Z packets asked for each (Z0 and Z1 at one address share it).
    private var owned: [UInt32: Int] = [:]
    /// The addresses gdb's Z0/Z1 packets put into `cpu.breakpoints` (for a
    /// `monitorHandler` that runs the guest itself and must keep them).
    public var ownedBreakpoints: Set<UInt32> { Set(owned.keys) }
    /// The ranges gdb's Z2/Z3/Z4 packets put into `cpu.watchpoints`, in the
    /// order they came, once each however many packets asked for them.
    private var watches: [(range: Watchpoint, count: Int)] = []
    public var ownedWatchpoints: [Watchpoint] { watches.map(\.range) }

    public init(machine: Machine) {
        self.machine = machine
    }

    /// Where the CPU runs something other than the guest's own code (`bt`
    /// runs kernel code from its translation cache): how gdb's view — guest
    /// addresses in EIP and in breakpoints — maps to the CPU's and back.
    public struct AddressMap {
        /// The guest linear address for the linear address the CPU is at.
        public var guestLinear: (UInt32) -> UInt32
        /// The CPU's breakpoint addresses for breakpoints at these guest addresses.
        public var realBreakpoints: (Set<UInt32>) -> Set<UInt32>
        /// Does a guest instruction start at this real address?
        public var isBoundary: (UInt32) -> Bool
        /// The code selector the guest believes it runs with.
        public var guestCS: () -> UInt16

        public init(guestLinear: @escaping (UInt32) -> UInt32, realBreakpoints: @escaping (Set<UInt32>) -> Set<UInt32>,
                    isBoundary: @escaping (UInt32) -> Bool, guestCS: @escaping () -> UInt16) {
            self.guestLinear = guestLinear; self.realBreakpoints = realBreakpoints
            self.isBoundary = isBoundary; self.guestCS = guestCS
        }
    }
    public var addressMap: AddressMap?

    /// Where the CPU is (CS base + EIP).
    var realPC: UInt32 { cpu.segs[Seg.cs].base &+ cpu.eip }

    // MARK: - Registers

    /// gdb's i386 order: general registers, EIP, EFLAGS, then CS SS DS ES FS GS.
    public static let segmentOrder = [Seg.cs, Seg.ss, Seg.ds, Seg.es, Seg.fs, Seg.gs]
    public static let registerNames = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                                       "eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs"]

    public func registers() -> [UInt32] {
        var r = (0..<8).map { cpu.regs[$0] }
        r.append(addressMap.map { $0.guestLinear(realPC) &- cpu.segs[Seg.cs].base } ?? cpu.eip)
        r.append(cpu.eflags)
        for s in Self.segmentOrder { r.append(UInt32(cpu.segs[s].selector)) }
        if let map = addressMap { r[10] = UInt32(map.guestCS()) }
        return r
    }

    public func setRegister(_ n: Int, _ value: UInt32) -> Bool {
        switch n {
        case 0..<8: cpu.regs[n] = value
        case 8: cpu.eip = value
        case 9: cpu.setEFLAGS(value)
        case 10..<16:
            let seg = Self.segmentOrder[n - 10]
            guard value <= 0xFFFF else { return false }
            let selector = UInt16(value)
            if cpu.segs[seg].selector == selector { return true }
            // A new selector loads its descriptor by the rules of MOV Sreg;
            // CS changes only through a far transfer, never from here.
            guard seg != Seg.cs else { return false }
            do { try cpu.loadSegment(seg, selector: selector) } catch { return false }
        default: return false
        }
        return true
    }

    // MARK: - Memory

    /// Linear → the physical address to read, for a guest under a monitor
    /// (through the guest's own page tables to host-physical; the CPU's
    /// tables are the monitor's shadow).  nil: the CPU's walk, as native.
    public var translate: ((UInt32) -> UInt32?)?

    /// The guest-physical address of a linear one, if it is mapped and in RAM.
    public func physical(_ linear: UInt32) -> UInt32? {
        if let translate { return translate(linear) }
        let phys: UInt32
        if cpu.pagingEnabled {
            guard let p = cpu.walk(linear).physical else { return nil }
            phys = p
        } else {
            phys = linear
        }
        return phys < machine.ramSize ? phys : nil
    }

    public func readMemory(_ address: UInt32, _ count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            guard let p = physical(address &+ UInt32(k)) else { break }
            out.append(UInt8(truncatingIfNeeded: cpu.readPhysical(p, 1)))
        }
        return out.isEmpty && count > 0 ? nil : out
    }

    public func writeMemory(_ address: UInt32, _ bytes: [UInt8]) -> Bool {
        var targets: [UInt32] = []
        targets.reserveCapacity(bytes.count)
        for k in 0..<bytes.count {
            guard let p = physical(address &+ UInt32(k)) else { return false }
            targets.append(p)
        }
        for (p, b) in zip(targets, bytes) { cpu.writePhysical(p, 1, UInt32(b)) }
        return true
    }

    // MARK: - Run control

    /// Passes over a breakpoint at the current instruction (gdb resumes from one).
    private func prepareResume() {
        let lin = cpu.segs[Seg.cs].base &+ cpu.eip
        cpu.resumeAddress = cpu.breakpoints.contains(lin) ? lin : nil
    }

    public func step() -> StopEvent {
        prepareResume()
        var stop = machine.run(maxInstructions: 1)
        // One guest instruction may be several translated ones: step to the next guest instruction.
        var more = 64
        while stop == .instructionLimit, let map = addressMap, !map.isBoundary(realPC), more > 0 {
            stop = machine.run(maxInstructions: 1)
            more -= 1
        }
        return finish(stop)
    }

    /// The CPU's breakpoint set for gdb's (guest) addresses.
    private func syncBreakpoints() {
        guard let map = addressMap else { return }
        let want = map.realBreakpoints(Set(owned.keys))
        if cpu.breakpoints != want { cpu.breakpoints = want }
    }

    public func resume(until interrupted: () -> Bool) -> StopEvent {
        prepareResume()
        while true {
            let stop = machine.run(maxInstructions: sliceInstructions)
            if stop == .instructionLimit {
                if interrupted() { return finish(.interrupted) }
                continue
            }
            return finish(stop)
        }
    }

    private func finish(_ stop: MachineStop) -> StopEvent {
        lastMachineStop = stop
        stopReason = Self.event(for: stop)
        if case .watchpoint = stop, let w = watchEvent(cpu.takeWatchHits()) { stopReason = w }
        return stopReason
    }

    /// The stop reply for the first hit on one of gdb's ranges: its kind and
    /// the first byte of the range the access touched (gdb looks the address
    /// up among its watchpoints' ranges).
    private func watchEvent(_ hits: [WatchHit]) -> StopEvent? {
        for h in hits where ownedWatchpoints.contains(h.watchpoint) {
            let kind: BreakpointKind
            switch h.watchpoint.kind {
            case .write: kind = .writeWatchpoint
            case .read: kind = .readWatchpoint
            case .access: kind = .accessWatchpoint
            }
            return .watchpoint(kind, address: max(h.address, h.watchpoint.address))
        }
        return nil
    }

    /// How each way a machine run ends looks to gdb.  The ends of a run
    /// (DESIGN.md "How a run ends") are exits with the run's status; the
    /// faults stay stopped with a signal so that their state can be looked at.
    public static func event(for stop: MachineStop) -> StopEvent {
        switch stop {
        case .breakpoint, .instructionLimit, .watchpoint: return .signal(StopEvent.sigtrap)
        case .interrupted: return .signal(StopEvent.sigint)
        case .debugExit(let s): return .exited(UInt8(truncatingIfNeeded: s))
        case .halted, .idleForever, .reset: return .exited(UInt8(truncatingIfNeeded: stop.exitStatus))
        case .tripleFault, .exception: return .signal(StopEvent.sigsegv)
        case .unsupported: return .signal(StopEvent.sigill)
        }
    }

    // MARK: - Breakpoints

    public func supports(_ kind: BreakpointKind) -> Bool { true }

    /// The CPU's form of a Z2/Z3/Z4 range (nil for Z0/Z1).
    static func range(_ kind: BreakpointKind, _ address: UInt32, _ length: Int) -> Watchpoint? {
        let k: Watchpoint.Kind
        switch kind {
        case .software, .hardware: return nil
        case .writeWatchpoint: k = .write
        case .readWatchpoint: k = .read
        case .accessWatchpoint: k = .access
        }
        return Watchpoint(address: address, length: UInt32(clamping: max(length, 1)), kind: k)
    }

    public func insertBreakpoint(_ kind: BreakpointKind, at address: UInt32, length: Int) -> Bool {
        guard supports(kind) else { return false }
        if let r = Self.range(kind, address, length) {
            guard length > 0 && length <= 0x1000 else { return false }
            if let i = watches.firstIndex(where: { $0.range == r }) { watches[i].count += 1 } else { watches.append((r, 1)) }
            cpu.watchpoints = ownedWatchpoints
            return true
        }
        owned[address, default: 0] += 1
        if addressMap != nil { syncBreakpoints(); return true }
        if !cpu.breakpoints.contains(address) { cpu.breakpoints.insert(address) }
        return true
    }

    public func removeBreakpoint(_ kind: BreakpointKind, at address: UInt32, length: Int) -> Bool {
        guard supports(kind) else { return false }
        if let r = Self.range(kind, address, length) {
            // Removing one that is not there is not an error (gdb may remove twice).
            guard let i = watches.firstIndex(where: { $0.range == r }) else { return true }
            if watches[i].count > 1 { watches[i].count -= 1 } else { watches.remove(at: i) }
            cpu.watchpoints = ownedWatchpoints
            return true
        }
        // Removing one that is not there is not an error (gdb may remove twice).
        guard let n = owned[address] else { return true }
        if n > 1 { owned[address] = n - 1; return true }
        owned[address] = nil
        if addressMap != nil { syncBreakpoints(); return true }
        cpu.breakpoints.remove(address)
        return true
    }

    // MARK: - monitor

    public func monitor(_ command: String) -> String {
        if let handler = monitorHandler, let out = handler(command) { return out }
        let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        switch words.first {
        case nil, "help"?:
            return """
                Ringside monitor commands (gdb stub built-ins):
                  info registers   the CPU's registers, as gdb prints them
                  info rings       CPL, IOPL and IF
                  info stop        how the last run or step ended
                  help             this list

                """
        case "info"? where words.count == 2:
            switch words[1] {
            case "registers", "reg", "r": return infoRegisters()
            case "rings": return "CPL \(cpu.cpl), IOPL \(cpu.iopl), IF \(cpu.interruptsEnabled ? 1 : 0)\n"
            case "stop": return infoStop() + "\n"
            default: break
            }
        default: break
        }
        return "unknown monitor command: \(command) (try \"monitor help\")\n"
    }

    private func infoStop() -> String {
        guard let stop = lastMachineStop else { return "stopped at the entry point" }
        switch stop {
        case .breakpoint(let a): return "breakpoint at \(hex(a))"
        case .watchpoint(let a, let write): return "watchpoint at \(hex(a)) (\(write ? "write" : "read"))"
        case .instructionLimit: return "stepped"
        case .interrupted: return "interrupted"
        case .debugExit(let s): return "debug-exit, status \(s)"
        case .halted: return "halted (HLT with IF = 0)"
        case .idleForever: return "halted with interrupts enabled and no device left to wake it"
        case .reset: return "the guest reset the machine"
        case .tripleFault: return "triple fault"
        case .exception(let e): return "unhandled exception \(e.name)"
        case .unsupported(let why): return "stopped: \(why)"
        }
    }

    /// gdb's `info registers` layout: name in 15 columns, hex in 19, then the natural value.
    public func infoRegisters() -> String {
        let values = registers()
        var out = ""
        for (n, name) in Self.registerNames.enumerated() {
            let v = values[n]
            let hexText = "0x" + String(v, radix: 16)
            let natural: String
            switch name {
            case "eip": natural = hexText
            case "eflags": natural = Self.flagsText(v)
            case "esp", "ebp": natural = hexText
            default: natural = String(Int32(bitPattern: v))
            }
            out += name.padding(15) + hexText.padding(19) + natural + "\n"
        }
        return out
    }

    /// `[ PF ZF IF ]`: gdb's spelling of EFLAGS for i386 without a target
    /// description (set flags from bit 0 up; IOPL is not among them).
    public static func flagsText(_ v: UInt32) -> String {
        let names: [(UInt32, String)] = [(EFLAGS.cf, "CF"), (EFLAGS.pf, "PF"), (EFLAGS.af, "AF"), (EFLAGS.zf, "ZF"),
                                         (EFLAGS.sf, "SF"), (EFLAGS.tf, "TF"), (EFLAGS.if, "IF"), (EFLAGS.df, "DF"),
                                         (EFLAGS.of, "OF"), (EFLAGS.nt, "NT"), (EFLAGS.rf, "RF"), (EFLAGS.vm, "VM"),
                                         (EFLAGS.ac, "AC"), (EFLAGS.vif, "VIF"), (EFLAGS.vip, "VIP"), (EFLAGS.id, "ID")]
        return "[ " + names.filter { v & $0.0 != 0 }.map { $0.1 + " " }.joined() + "]"
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
