// A technique with its settings: what `compare` and the nanobenchmark
// table put in a column.  Every technique is one configuration, except
// `vtx`, which is two: first-generation VT-x with shadow page tables (what
// Adams & Agesen measured in 2006) and VT-x with EPT (Nehalem, 2008), so
// that the table shows what EPT removes (reference/virtualization.md §6).
//
// The list comes from the Technique enumeration and the VirtualMachine
// factory: a technique the factory cannot build yet (it returns nil) is
// still a column, shown as "—", and fills in by itself once it runs.

public struct Configuration: Hashable, Sendable, CustomStringConvertible {
    public var technique: Technique
    /// Memory virtualization under `vtx`; nil for every other technique.
    public var paging: VTxPaging?

    public init(_ technique: Technique, paging: VTxPaging? = nil) {
        self.technique = technique
        self.paging = technique == .vtx ? (paging ?? .ept) : nil
    }

    /// "native", "trap", "bt", "vtx-shadow", "vtx-ept", "pv".
    public var name: String { paging.map { "\(technique.rawValue)-\($0.rawValue)" } ?? technique.rawValue }
    public var description: String { name }

    /// Every configuration, in the order of Technique.allCases.
    public static var all: [Configuration] {
        Technique.allCases.flatMap { t in
            t == .vtx ? VTxPaging.allCases.map { Configuration(t, paging: $0) } : [Configuration(t)]
        }
    }

    /// The configurations for unmodified guests: all but `pv`, which runs
    /// only kernels written for its hypercall ABI.
    public static var fullVirtualization: [Configuration] { all.filter { $0.technique != .pv } }

    /// A configuration by name ("vtx" alone means vtx with shadow paging).
    public init?(name: String) {
        if let t = Technique(rawValue: name) { self.init(t); return }
        guard let dash = name.firstIndex(of: "-"), let t = Technique(rawValue: String(name[..<dash])), t == .vtx,
              let p = VTxPaging(rawValue: String(name[name.index(after: dash)...])) else { return nil }
        self.init(t, paging: p)
    }

    /// A fresh machine under this configuration, or nil when the technique is not available yet.
    public func makeVM(memoryMiB: Int = 32) -> VirtualMachine? {
        VirtualMachine(technique: technique, memoryMiB: memoryMiB, paging: paging ?? .ept)
    }
}
