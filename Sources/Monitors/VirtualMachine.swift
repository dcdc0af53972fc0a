import PC
import X86

// A guest under one technique: the machine, its monitor, the trap log and
// the cost model.  The command line, the debugger and `compare` all go
// through this one type.

public final class VirtualMachine {
    public let technique: Technique
    public let machine: Machine
    public let monitor: Monitor
    public let log = TrapLog()
    public var cost = CostModel()
    public private(set) var guest: LoadedGuest?

    /// A machine with `memoryMiB` of guest RAM under `technique`; nil when
    /// the technique is not available yet.  `paging` chooses shadow paging
    /// or EPT under `vtx` (ignored otherwise).
    public init?(technique: Technique, memoryMiB: Int = 32, paging: VTxPaging = .ept) {
        switch technique {
        case .native:
            monitor = NativeMonitor()
            machine = Machine.standardPC(memoryMiB: memoryMiB)
        case .trap:
            monitor = TrapMonitor()
            machine = Machine.standardPC(memoryMiB: memoryMiB, guestBase: MonitorLayout.guestBase)
        case .bt:
            monitor = BTMonitor()
            machine = Machine.standardPC(memoryMiB: memoryMiB, guestBase: MonitorLayout.guestBase)
        case .pv:
            monitor = PVMonitor()
            machine = Machine.standardPC(memoryMiB: memoryMiB, guestBase: MonitorLayout.guestBase)
        case .vtx:
            monitor = VTxMonitor(paging: paging)
            machine = Machine.standardPC(memoryMiB: memoryMiB, guestBase: MonitorLayout.guestBase)
        }
        self.technique = technique
    }

    /// Loads a guest file (multiboot, ELF or flat) and boots it under the technique.
    @discardableResult
    public func load(_ bytes: [UInt8], path: String, options: GuestOptions) throws(LoadError) -> LoadedGuest {
        let g = try GuestLoader.load(bytes, path: path, into: machine, options: options)
        guest = g
        monitor.boot(self)
        return g
    }

    public func run(maxInstructions: UInt64 = .max) -> MachineStop {
        let stop = machine.run(maxInstructions: maxInstructions)
        // Under VT-x a triple fault in non-root operation is a VM exit (reason 2).
        if stop == .tripleFault, let vtx = monitor as? VTxMonitor { vtx.tripleFault() }
        return stop
    }

    /// The instruction at CS:EIP, disassembled from guest memory (for the trap log).
    public func instructionText(at eip: UInt32) -> String {
        let lin = machine.cpu.segs[Seg.cs].base &+ eip
        guard let bytes = monitor.guestBytes(linear: lin, count: 15),
              let line = Disassembler.disassemble(bytes, at: eip).first else { return "(unreadable)" }
        return line.text
    }
}
