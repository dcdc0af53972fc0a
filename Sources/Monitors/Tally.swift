// What a run's modeled cycles are made of: each kind of event with how
// often it happened and what it was charged (DESIGN.md "Measured").  The
// counts come from execution — retired instructions, the trap log's exact
// totals, the VMCS exit counts by basic reason — and the cycles from the
// CostModel the run used, so `modeledCycles` is the sum of the parts.
// The nanobenchmark table subtracts two tallies and divides by the number
// of operations, to say "one INVLPG exit and one pt-write per ptemod".

public struct Tally: Sendable, Equatable {
    public struct Part: Sendable, Equatable {
        /// "instructions", "device I/O", "exit CR_ACCESS", "pt-write", …
        public var label: String
        public var count: Double
        public var cycles: Double
    }
    /// In a fixed order: instructions, device I/O, VM exits by reason, then the other event kinds.
    public var parts: [Part]

    public init(parts: [Part]) { self.parts = parts }

    public init(_ vm: VirtualMachine) {
        var parts = [Part(label: "instructions", count: Double(vm.machine.cpu.instructions),
                          cycles: Double(vm.machine.cpu.instructions &* vm.cost.instruction))]
        if let native = vm.monitor as? NativeMonitor {
            parts.append(Part(label: "device I/O", count: Double(native.portInstructions), cycles: Double(vm.deviceCycles)))
        }
        let log = vm.log
        for kind in EventKind.allCases where log.count(kind) > 0 {
            let count = log.count(kind), cycles = log.cyclesByKind[kind] ?? 0
            if kind == .vmexit, let vtx = vm.monitor as? VTxMonitor, vtx.exitCounts.values.reduce(0, +) == count {
                // Split by basic reason; every exit is charged the same round trip.
                for (reason, n) in vtx.exitCounts.sorted(by: { $0.key < $1.key }) {
                    let name = ExitReason(rawValue: reason)?.name ?? "\(reason)"
                    parts.append(Part(label: "exit \(name)", count: Double(n), cycles: Double(cycles) * Double(n) / Double(count)))
                }
            } else {
                parts.append(Part(label: kind.rawValue, count: Double(count), cycles: Double(cycles)))
            }
        }
        self.parts = parts
    }

    public var cycles: Double { parts.reduce(0) { $0 + $1.cycles } }

    /// (self − other) / divisor, part by part; parts that cancel are dropped.
    public func difference(_ other: Tally, per divisor: Double) -> Tally {
        var labels = parts.map(\.label)
        for p in other.parts where !labels.contains(p.label) { labels.append(p.label) }
        let mine = Dictionary(parts.map { ($0.label, $0) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(other.parts.map { ($0.label, $0) }, uniquingKeysWith: { a, _ in a })
        let result = labels.compactMap { l -> Part? in
            let a = mine[l], b = theirs[l]
            let count = ((a?.count ?? 0) - (b?.count ?? 0)) / divisor
            let cycles = ((a?.cycles ?? 0) - (b?.cycles ?? 0)) / divisor
            return abs(count) < 1e-9 && abs(cycles) < 1e-9 ? nil : Part(label: l, count: count, cycles: cycles)
        }
        return Tally(parts: result)
    }

    /// The count of one part (0 when absent).
    public func count(_ label: String) -> Double { parts.first { $0.label == label }?.count ?? 0 }
}
