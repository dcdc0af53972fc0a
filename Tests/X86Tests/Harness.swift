import Testing
@testable import X86

/// A bare CPU with 1 MiB of RAM in flat 32-bit protected mode at CPL 0,
/// stopping at the first exception: the machine the Unicorn vectors assume.
final class TestMachine {
    let size: UInt32
    let ram: UnsafeMutablePointer<UInt8>
    let cpu: CPU

    init(size: UInt32 = 1 << 20) {
        self.size = size
        ram = .allocate(capacity: Int(size))
        ram.initialize(repeating: 0, count: Int(size))
        cpu = CPU(ram: ram, ramSize: size)
        cpu.resetFlat(entry: 0x1000, stack: 0x9F00)
        cpu.stopOnException = true
    }
    deinit { ram.deallocate() }

    func load(_ bytes: [UInt8], at address: UInt32) {
        for (k, b) in bytes.enumerated() { ram[Int(address) + k] = b }
    }

    /// Loads `code` at 0x1000 followed by HLT and runs it to the HLT.
    @discardableResult
    func run(_ code: [UInt8], limit: UInt64 = 100_000) -> StopReason {
        load(code + [0xF4], at: 0x1000)
        cpu.eip = 0x1000
        return cpu.run(maxInstructions: limit)
    }

    func u32(_ address: UInt32) -> UInt32 { cpu.readPhysical(address, 4) }
}

func bytes(fromHex s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}
