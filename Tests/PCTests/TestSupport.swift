// Helpers shared by the device tests.

@testable import PC

/// Records an IRQ line's levels.
final class LineProbe {
    let irq: Int
    var levels: [Bool] = []
    var risingEdges = 0
    init(irq: Int = 4) { self.irq = irq }
    lazy var line = IRQLine(irq: irq) { [weak self] _, high in
        self?.levels.append(high)
        if high { self?.risingEdges += 1 }
    }
    var level: Bool { line.level }
}

/// A mutable cell a device callback can write into.
final class Box<T> {
    var value: T
    init(_ v: T) { value = v }
}
