// The machine: RAM, the port and MMIO buses, the devices and the virtual
// clock around one CPU.  It runs the CPU in slices bounded by the next device
// event, so that timers fire at exact virtual times and the same guest and
// input always give the same trace.

import X86

/// Why a machine run ended.
public enum MachineStop: Equatable, Sendable {
    /// The guest wrote v to isa-debug-exit: QEMU's status (v << 1) | 1.
    case debugExit(Int32)
    /// HLT with interrupts disabled (nothing can wake the CPU).
    case halted
    /// HLT with interrupts enabled but no device will ever interrupt.
    case idleForever
    case tripleFault
    case instructionLimit
    /// A reset through the keyboard controller (0x64 <- 0xFE).
    case reset
    case breakpoint(UInt32)
    /// A watched range was read or written (the watchpoint's address; the
    /// CPU's `takeWatchHits` has the details).  EIP is after the instruction.
    case watchpoint(UInt32, write: Bool)
    case unsupported(String)
    /// Stopped from outside (Ctrl-C, the debugger).
    case interrupted
    /// An exception the CPU was told not to deliver (flat runs, tests).
    case exception(CPUException)

    /// The process exit status of DESIGN.md "How a run ends".
    public var exitStatus: Int32 {
        switch self {
        case .debugExit(let s): return s
        case .halted, .idleForever: return 0
        case .tripleFault: return 2
        case .instructionLimit: return 4
        case .unsupported, .exception: return 3
        case .reset: return 5
        case .breakpoint, .watchpoint: return 0
        case .interrupted: return 130
        }
    }
}

public final class Machine: IOBus {
    public let ramSize: UInt32
    public let ram: UnsafeMutablePointer<UInt8>
    public let cpu: CPU
    public var clock = VirtualClock()
    /// Virtual time spent halted, waiting for an interrupt (added to instruction time).
    public private(set) var idleNanoseconds: UInt64 = 0
    private var portOwner = [Int16](repeating: -1, count: 0x10000)
    public private(set) var devices: [PortDevice] = []
    public private(set) var clocked: [Clocked] = []
    /// The standard devices, when the machine has them (Standard.swift).
    public internal(set) var pic: PIC8259?
    public internal(set) var uart: UART16550?
    public internal(set) var pit: PIT8254?
    /// Receives every byte the guest sends to the serial console (COM1).
    public var onSerialOutput: ((UInt8) -> Void)?
    /// Set by devices that end the run (debug-exit, reset).
    public var pendingStop: MachineStop?
    /// Set from another thread or a signal handler to stop a runaway guest.
    nonisolated(unsafe) public static var interruptRequested = false

    /// Host-physical address of guest-physical 0.  Zero for `native`; a
    /// software monitor places the guest above its own memory, so that
    /// guest-physical and host-physical addresses differ.
    public let guestBase: UInt32
    /// Guest RAM in bytes (what the guest is told it has).
    public let guestSize: UInt32

    public init(memoryMiB: Int = 32, guestBase: UInt32 = 0) {
        self.guestBase = guestBase
        guestSize = UInt32(memoryMiB) << 20
        ramSize = guestBase + guestSize
        ram = .allocate(capacity: Int(ramSize))
        ram.initialize(repeating: 0, count: Int(ramSize))
        cpu = CPU(ram: ram, ramSize: ramSize)
        cpu.bus = self
    }

    deinit { ram.deallocate() }

    /// Virtual time now, in nanoseconds.
    public var now: UInt64 { clock.nanoseconds(cpu.instructions) &+ idleNanoseconds }

    public func attach(_ device: PortDevice) {
        let index = Int16(devices.count)
        devices.append(device)
        for range in device.ports { for p in range { portOwner[Int(p)] = index } }
        if let c = device as? Clocked { clocked.append(c) }
    }

    // ---- IOBus ----
    public func portIn(_ port: UInt16, size: Int) -> UInt32 {
        let owner = portOwner[Int(port)]
        // Unclaimed ports read as all ones (an ISA bus with nothing driving it).
        guard owner >= 0 else { return size == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(size))) - 1 }
        catchUpDevices()
        return devices[Int(owner)].read(port: port, size: size)
    }
    public func portOut(_ port: UInt16, size: Int, value: UInt32) {
        let owner = portOwner[Int(port)]
        guard owner >= 0 else { return }
        catchUpDevices()
        devices[Int(owner)].write(port: port, size: size, value: value)
        if pendingStop != nil { cpu.stopRequest = .requested }
    }
    public func mmioRead(_ address: UInt32, size: Int) -> UInt32 { size == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(size))) - 1 }
    public func mmioWrite(_ address: UInt32, size: Int, value: UInt32) {}

    private func catchUpDevices() {
        let t = now
        for c in clocked { c.advance(to: t) }
    }

    /// The earliest virtual time any device will act by itself.
    private var nextDeviceEvent: UInt64? { clocked.compactMap(\.nextEvent).min() }

    // ---- Running ----
    /// The longest slice the CPU runs without looking up (for Ctrl-C and device catch-up).
    public var sliceLimit: UInt64 = 200_000

    /// Runs for at most `maxInstructions` more instructions.  One instruction
    /// is a debugger's single step: an exception or interrupt delivered
    /// instead ends it at the handler's first instruction (CPU.run).
    public func run(maxInstructions: UInt64 = .max) -> MachineStop {
        let end = maxInstructions == .max ? UInt64.max : cpu.instructions &+ maxInstructions
        let delivered = cpu.deliveries
        while true {
            if let stop = pendingStop { pendingStop = nil; return stop }
            if Machine.interruptRequested { Machine.interruptRequested = false; return .interrupted }
            if maxInstructions == 1 && cpu.deliveries != delivered { return .instructionLimit }
            guard cpu.instructions < end else { return .instructionLimit }
            catchUpDevices()
            var slice = min(end - cpu.instructions, sliceLimit)
            if let event = nextDeviceEvent {
                let t = now
                let due = event > t ? clock.instructions(atNanoseconds: event - t) : 1
                slice = min(slice, max(due, 1))
            }
            switch cpu.run(maxInstructions: slice) {
            case .limit, .requested: continue
            case .halted:
                if let stop = pendingStop { pendingStop = nil; return stop }
                if !cpu.interruptsEnabled { return .halted }
                // Sleep in virtual time until the next device event.
                guard let event = nextDeviceEvent else { return .idleForever }
                let t = now
                if event > t { idleNanoseconds &+= event - t }
                catchUpDevices()
                if let src = cpu.interrupts, src.interruptPending { continue }
                if nextDeviceEvent == nil { return .idleForever }
            case .tripleFault: return .tripleFault
            case .exception(let e): return .exception(e)
            case .breakpoint(let a): return .breakpoint(a)
            case .watchpoint(let a, let write): return .watchpoint(a, write: write)
            case .unsupported(let why): return .unsupported(why)
            }
        }
    }

    // ---- Loading ----
    /// Copies bytes into guest-physical memory (host-physical guestBase +
    /// address); false when they do not fit in guest RAM.
    @discardableResult
    public func load(_ bytes: [UInt8], at address: UInt32) -> Bool {
        guard UInt64(address) + UInt64(bytes.count) <= UInt64(guestSize) else { return false }
        bytes.withUnsafeBufferPointer { src in
            (ram + Int(guestBase) + Int(address)).update(from: src.baseAddress!, count: bytes.count)
        }
        return true
    }
}
