import Testing
@testable import X86

// A protected-mode guest built in RAM for the directed system-architecture
// tests (System*Tests.swift).  Every table is written byte by byte into the
// 1 MiB TestMachine the way a guest kernel would write it; the CPU only sees
// GDTR, IDTR and TR pointing at them.
//
// Memory map:
//   0x01000  test code (run(_:) loads here)      0x03000  ring-0 handlers, 16 bytes per vector
//   0x05800  ring-1 working stack top            0x06800  ring-2 working stack top
//   0x07800  ring-3 working stack top            0x08000  data area
//   0x09F00  ring-0 working stack top (TestMachine's)
//   0x0B000  TSS ESP0 (SS0 = 0x10)               0x0C000  TSS ESP1 (SS1 = 0x21)
//   0x0D000  TSS ESP2 (SS2 = 0x32)
//   0x10000  GDT (64 entries)                    0x11000  IDT (256 gates)
//   0x12000  32-bit TSS; I/O bitmap at 0x12068    0x15000  LDT (32 entries)
//   0x20000  page directory                      0x21000  page table for 0-4 MiB
//
// GDT (selector: descriptor), all flat 4 GiB, 32-bit, accessed bit preset:
//   0x08 code DPL 0   0x10 data DPL 0   0x18 code DPL 1   0x20 data DPL 1
//   0x28 code DPL 2   0x30 data DPL 2   0x38 code DPL 3   0x40 data DPL 3
//   0x48 32-bit TSS   0x50 LDT          0x58 conforming code DPL 0
//   0x60 and up: free for the test at hand.

enum Layout {
    static let code: UInt32 = 0x1000
    static let handlers: UInt32 = 0x3000
    static let data: UInt32 = 0x8000
    static let gdt: UInt32 = 0x10000
    static let idt: UInt32 = 0x11000
    static let tss: UInt32 = 0x12000
    static let ldt: UInt32 = 0x15000
    static let pageDirectory: UInt32 = 0x20000
    static let pageTable: UInt32 = 0x21000
    /// Working ESP of code running at ring n (ring 0: TestMachine's 0x9F00).
    static let workingStack: [UInt32] = [0x9F00, 0x5800, 0x6800, 0x7800]
    /// ESPn in the TSS: where an inward transfer to ring n switches (SDM Vol. 3 §7.2.1).
    static let tssStack: [UInt32] = [0xB000, 0xC000, 0xD000]
}

/// Selectors of the standard GDT.
enum Sel {
    static func code(_ dpl: UInt8) -> UInt16 { UInt16(0x08 + 0x10 * UInt16(dpl)) | UInt16(dpl) }
    static func data(_ dpl: UInt8) -> UInt16 { UInt16(0x10 + 0x10 * UInt16(dpl)) | UInt16(dpl) }
    static let tss: UInt16 = 0x48
    static let ldt: UInt16 = 0x50
    static let conforming0: UInt16 = 0x58
    /// First free GDT index for per-test descriptors (selector 0x60).
    static let firstFree = 12
}

/// Descriptor encodings (SDM Vol. 3 Figure 3-8, Figure 5-8, Figure 6-2).
enum Desc {
    /// A code/data or system segment descriptor: (low dword, high dword).
    static func segment(base: UInt32, limit: UInt32, access: UInt8, flags: UInt8 = 0xC) -> (UInt32, UInt32) {
        let lo = (base << 16) | (limit & 0xFFFF)
        let hi = (base & 0xFF00_0000) | (UInt32(flags & 0xF) << 20) | (limit & 0xF_0000)
            | (UInt32(access) << 8) | ((base >> 16) & 0xFF)
        return (lo, hi)
    }
    /// A call, interrupt, trap or task gate: `access` is P DPL 0 type.
    static func gate(selector: UInt16, offset: UInt32, access: UInt8, params: UInt8 = 0) -> (UInt32, UInt32) {
        let lo = (UInt32(selector) << 16) | (offset & 0xFFFF)
        let hi = (offset & 0xFFFF_0000) | (UInt32(access) << 8) | UInt32(params & 0x1F)
        return (lo, hi)
    }
}

/// Access bytes used by the tests (SDM Vol. 3 Tables 3-1 and 3-2).
enum Acc {
    static func code(_ dpl: UInt8) -> UInt8 { 0x9B | (dpl << 5) }        // execute/read, accessed
    static func data(_ dpl: UInt8) -> UInt8 { 0x93 | (dpl << 5) }        // read/write, accessed
    static func conformingCode(_ dpl: UInt8) -> UInt8 { 0x9F | (dpl << 5) }
    static func executeOnly(_ dpl: UInt8) -> UInt8 { 0x99 | (dpl << 5) }
    static func readOnly(_ dpl: UInt8) -> UInt8 { 0x91 | (dpl << 5) }
    static func expandDown(_ dpl: UInt8) -> UInt8 { 0x97 | (dpl << 5) }  // read/write, expand-down
    static let tss32: UInt8 = 0x89, tss32Busy: UInt8 = 0x8B, ldt: UInt8 = 0x82
    static func intGate(_ dpl: UInt8) -> UInt8 { 0x8E | (dpl << 5) }
    static func trapGate(_ dpl: UInt8) -> UInt8 { 0x8F | (dpl << 5) }
    static func callGate(_ dpl: UInt8) -> UInt8 { 0x8C | (dpl << 5) }
    static func taskGate(_ dpl: UInt8) -> UInt8 { 0x85 | (dpl << 5) }
}

/// Records every port access (SDM Vol. 1 §19.5: a denied access never reaches the bus).
final class RecordingBus: IOBus {
    var accesses: [(port: UInt16, size: Int, write: Bool, value: UInt32)] = []
    var inValue: UInt32 = 0xA5A5_A5A5
    func portIn(_ port: UInt16, size: Int) -> UInt32 {
        accesses.append((port, size, false, 0))
        return size == 4 ? inValue : inValue & ((1 << (8 * UInt32(size))) - 1)
    }
    func portOut(_ port: UInt16, size: Int, value: UInt32) { accesses.append((port, size, true, value)) }
    func mmioRead(_ address: UInt32, size: Int) -> UInt32 { 0xFFFF_FFFF }
    func mmioWrite(_ address: UInt32, size: Int, value: UInt32) {}
}

/// A one-shot interrupt controller: raises `vector` once.
final class OneShotPIC: InterruptSource {
    var pending: UInt8?
    var acknowledged = 0
    init(_ vector: UInt8?) { pending = vector }
    var interruptPending: Bool { pending != nil }
    func acknowledgeInterrupt() -> UInt8 {
        acknowledged += 1
        defer { pending = nil }
        return pending!
    }
}

/// The guest machine of the system tests: TestMachine plus GDT, IDT, TSS,
/// optional LDT and page tables, built by the helpers below.
final class SysMachine {
    let tm: TestMachine
    var cpu: CPU { tm.cpu }
    let bus = RecordingBus()

    init() {
        tm = TestMachine()
        cpu.bus = bus
        for dpl: UInt8 in 0...3 {
            setGDT(1 + 2 * Int(dpl), Desc.segment(base: 0, limit: 0xFFFFF, access: Acc.code(dpl)))
            setGDT(2 + 2 * Int(dpl), Desc.segment(base: 0, limit: 0xFFFFF, access: Acc.data(dpl)))
        }
        setGDT(9, Desc.segment(base: Layout.tss, limit: 0x67, access: Acc.tss32, flags: 0))
        setGDT(10, Desc.segment(base: Layout.ldt, limit: 0xFF, access: Acc.ldt, flags: 0))
        setGDT(11, Desc.segment(base: 0, limit: 0xFFFFF, access: Acc.conformingCode(0)))
        cpu.gdtr = TableRegister(base: Layout.gdt, limit: 64 * 8 - 1)
        cpu.idtr = TableRegister(base: Layout.idt, limit: 256 * 8 - 1)
        // TSS: SSn:ESPn for rings 0-2 (SDM Vol. 3 Figure 7-2), I/O map base beyond the limit (no bitmap).
        for n in 0..<3 {
            w32(Layout.tss + 4 + 8 * UInt32(n), Layout.tssStack[n])
            w32(Layout.tss + 8 + 8 * UInt32(n), UInt32(Sel.data(UInt8(n))))
        }
        w16(Layout.tss + 0x66, 0x68)
        try! cpu.loadTR(Sel.tss)
        // Every vector 0-255: a DPL-0 interrupt gate to a HLT at handlers + 16 * vector.
        for v in 0..<256 {
            setIDT(UInt8(v), offset: handlerAddress(UInt8(v)), access: Acc.intGate(0))
            load([0xF4], at: handlerAddress(UInt8(v)))
        }
    }

    // ---- memory ----
    /// Writes go through the CPU's physical-write path so that decoded blocks of
    /// overwritten code are dropped, as a guest's own stores would drop them.
    func w8(_ a: UInt32, _ v: UInt8) { cpu.writePhysical(a, 1, UInt32(v)) }
    func w16(_ a: UInt32, _ v: UInt16) { w8(a, UInt8(v & 0xFF)); w8(a + 1, UInt8(v >> 8)) }
    func w32(_ a: UInt32, _ v: UInt32) { for k in 0..<4 { w8(a + UInt32(k), UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) } }
    func u8(_ a: UInt32) -> UInt8 { tm.ram[Int(a)] }
    func u16(_ a: UInt32) -> UInt32 { cpu.readPhysical(a, 2) }
    func u32(_ a: UInt32) -> UInt32 { cpu.readPhysical(a, 4) }
    func load(_ bytes: [UInt8], at a: UInt32) { for (k, b) in bytes.enumerated() { w8(a + UInt32(k), b) } }
    /// `count` dwords starting at physical `a`: a stack frame read word by word.
    func dwords(_ a: UInt32, _ count: Int) -> [UInt32] { (0..<count).map { u32(a + 4 * UInt32($0)) } }
    func words(_ a: UInt32, _ count: Int) -> [UInt32] { (0..<count).map { u16(a + 2 * UInt32($0)) } }

    // ---- descriptor tables ----
    func setGDT(_ index: Int, _ d: (UInt32, UInt32)) { w32(Layout.gdt + 8 * UInt32(index), d.0); w32(Layout.gdt + 8 * UInt32(index) + 4, d.1) }
    func setLDT(_ index: Int, _ d: (UInt32, UInt32)) { w32(Layout.ldt + 8 * UInt32(index), d.0); w32(Layout.ldt + 8 * UInt32(index) + 4, d.1) }
    func gdtHigh(_ index: Int) -> UInt32 { u32(Layout.gdt + 8 * UInt32(index) + 4) }
    /// Writes a segment descriptor at GDT `index` and returns its selector with RPL `rpl`.
    @discardableResult
    func segment(_ index: Int, base: UInt32 = 0, limit: UInt32 = 0xFFFFF, access: UInt8, flags: UInt8 = 0xC, rpl: UInt8 = 0) -> UInt16 {
        setGDT(index, Desc.segment(base: base, limit: limit, access: access, flags: flags))
        return UInt16(index * 8) | UInt16(rpl)
    }
    /// Writes a gate at GDT `index` and returns its selector.
    @discardableResult
    func gdtGate(_ index: Int, selector: UInt16, offset: UInt32, access: UInt8, params: UInt8 = 0, rpl: UInt8 = 0) -> UInt16 {
        setGDT(index, Desc.gate(selector: selector, offset: offset, access: access, params: params))
        return UInt16(index * 8) | UInt16(rpl)
    }
    func setIDT(_ vector: UInt8, selector: UInt16 = 0x08, offset: UInt32, access: UInt8) {
        let d = Desc.gate(selector: selector, offset: offset, access: access)
        w32(Layout.idt + 8 * UInt32(vector), d.0); w32(Layout.idt + 8 * UInt32(vector) + 4, d.1)
    }
    func handlerAddress(_ vector: UInt8) -> UInt32 { Layout.handlers + 16 * UInt32(vector) }
    /// EIP after the HLT of `vector`'s handler: how a test knows which vector was delivered.
    func haltedIn(_ vector: UInt8) -> UInt32 { handlerAddress(vector) + 1 }

    /// TSS: I/O map base (offset 0x66) and the TSS limit in the GDT (then LTR again).
    func setIOBitmap(base: UInt16 = 0x68, tssLimit: UInt32, deny ports: [UInt16] = [], allowAllUpTo: UInt16? = nil) {
        w16(Layout.tss + 0x66, base)
        // Start with every port denied, then clear the bits of the allowed ones.
        let mapStart = Layout.tss + UInt32(base)
        let end = Layout.tss + tssLimit
        if end >= mapStart { for a in mapStart...end { w8(a, 0xFF) } }
        if let top = allowAllUpTo {
            for p in 0...UInt32(top) { clearBit(mapStart, UInt16(p)) }
        }
        for p in ports { setBit(mapStart, p) }
        setGDT(9, Desc.segment(base: Layout.tss, limit: tssLimit, access: Acc.tss32, flags: 0))
        try! cpu.loadTR(Sel.tss)
    }
    func clearBit(_ map: UInt32, _ port: UInt16) { let a = map + UInt32(port >> 3); w8(a, u8(a) & ~(1 << (port & 7))) }
    func setBit(_ map: UInt32, _ port: UInt16) { let a = map + UInt32(port >> 3); w8(a, u8(a) | (1 << (port & 7))) }

    // ---- privilege ----
    /// Puts the CPU at ring `cpl` with the standard flat CS/SS/DS/ES/FS/GS of that ring
    /// and the ring's working stack, the way an IRET or far transfer would have left it.
    func enter(cpl: UInt8, iopl: UInt8 = 0, eflags: UInt32 = 0) {
        let cs = Sel.code(cpl), ds = Sel.data(cpl)
        var c = try! cpu.descriptor(cs)!.cache; c.selector = cs
        cpu.segs[Seg.cs] = c
        var d = try! cpu.descriptor(ds)!.cache; d.selector = ds
        for s in [Seg.ss, Seg.ds, Seg.es, Seg.fs, Seg.gs] { cpu.segs[s] = d }
        cpu.cpl = cpl
        cpu.esp = Layout.workingStack[Int(cpl)]
        cpu.setEFLAGS(eflags | (UInt32(iopl) << 12))
    }

    // ---- paging ----
    /// Identity-maps 0-4 MiB with 4 KiB pages (flags `pteFlags`, default P|W|U) and turns paging on.
    func enablePaging(pteFlags: UInt32 = 7, pdeFlags: UInt32 = 7, wp: Bool = false) {
        for k in 0..<1024 { w32(Layout.pageDirectory + 4 * UInt32(k), 0) }
        w32(Layout.pageDirectory, Layout.pageTable | pdeFlags)
        for k in 0..<1024 { w32(Layout.pageTable + 4 * UInt32(k), UInt32(k) << 12 | pteFlags) }
        cpu.cr3 = Layout.pageDirectory
        cpu.flushTLB(global: true)
        try! cpu.writeCR(0, cpu.cr0 | CR0.pg | (wp ? CR0.wp : 0))
    }
    /// The page table for `linear`'s 4 MiB region: 0x21000 for 0-4 MiB, 0x22000 for 4-8 MiB, and so on
    /// (created with PDE flags `pdeFlags` on first use).
    func pageTable(for linear: UInt32, pdeFlags: UInt32 = 7) -> UInt32 {
        let table = Layout.pageTable + 0x1000 * (linear >> 22)
        if pde(linear) & PTE.present == 0 {
            for k in 0..<1024 { w32(table + 4 * UInt32(k), 0) }
            setPDE(linear, table | pdeFlags)
        }
        return table
    }
    /// Maps the 4 KiB page at `linear` to `phys` with PTE flags `flags` (A and D clear unless given).
    func map(_ linear: UInt32, to phys: UInt32, flags: UInt32 = 7) {
        w32(pageTable(for: linear) + 4 * ((linear >> 12) & 0x3FF), phys | flags)
    }
    func pte(_ linear: UInt32) -> UInt32 { u32(Layout.pageTable + 0x1000 * (linear >> 22) + 4 * ((linear >> 12) & 0x3FF)) }
    func setPTE(_ linear: UInt32, _ v: UInt32) { w32(Layout.pageTable + 0x1000 * (linear >> 22) + 4 * ((linear >> 12) & 0x3FF), v) }
    func pde(_ linear: UInt32) -> UInt32 { u32(Layout.pageDirectory + 4 * (linear >> 22)) }
    func setPDE(_ linear: UInt32, _ v: UInt32) { w32(Layout.pageDirectory + 4 * (linear >> 22), v) }

    // ---- running ----
    /// Loads `code` at `address` (no HLT appended) and runs from there.
    @discardableResult
    func run(_ code: [UInt8], at address: UInt32 = Layout.code, limit: UInt64 = 10_000) -> StopReason {
        load(code, at: address)
        return resume(at: address, limit: limit)
    }
    /// Runs from `address` (clearing a HLT state left by an earlier run).
    func resume(at address: UInt32, limit: UInt64 = 10_000) -> StopReason {
        cpu.halted = false
        cpu.eip = address
        return cpu.run(maxInstructions: limit)
    }
    /// Delivery through the IDT instead of stopping at the first exception.
    var deliverExceptions: Bool {
        get { !cpu.stopOnException }
        set { cpu.stopOnException = !newValue }
    }
}

extension StopReason {
    /// The exception a run stopped at, if it did.
    var exception: CPUException? { if case .exception(let e) = self { return e }; return nil }
}

/// The run stopped at `expected` with EIP at the faulting instruction (SDM Vol. 3 §6.5: faults restart).
func expectFault(_ m: SysMachine, _ stop: StopReason, _ expected: CPUException, eip: UInt32,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(stop == .exception(expected), sourceLocation: sourceLocation)
    #expect(m.cpu.eip == eip, "EIP", sourceLocation: sourceLocation)
}
