import Testing
@testable import Monitors
import PC
import X86

/// Shadow paging under `trap` (issue 5, "Shadow paging has its own tests"):
/// tests/guests/shadow.elf checks PTE writes, INVLPG, a CR3 switch,
/// accessed/dirty bits, true faults with their CR2 and error code, CR0.WP,
/// 4 MiB pages and a PTE written through the kernel's own mapping of its page
/// directory (see tests/guests/shadow.asm).  Its output under QEMU is
/// tests/guests/shadow.out; under `trap` it must be the same byte for byte —
/// the guest uses nothing sensitive that shows in its output — and the trap
/// log must show the shadow MMU doing the work the guest cannot see.
@Suite struct ShadowPagingTests {
    static let guest = "tests/guests/shadow.elf"

    @Test func nativeMatchesQEMU() throws {
        let run = try DemoRun.run(path: Self.guest, .native)
        let want = try DemoRun.text(path: "tests/guests/shadow.out")
        #expect(run.output == want)
        #expect(run.stop.exitStatus == 33)
    }

    /// No line differs under `trap`: paging is virtualized completely (the
    /// kernel's MOV CR3/CR0/CR4/CR2 and INVLPG trap at CPL 1 and are emulated,
    /// its PTE writes are traced), and the guest's POPFs (in its serial
    /// routines) run with IF = 0 throughout, which CPL 1 cannot get wrong.
    @Test func trapMatchesQEMU() throws {
        let run = try DemoRun.run(path: Self.guest, .trap)
        let want = try DemoRun.text(path: "tests/guests/shadow.out").lines
        let got = run.output.lines
        for (k, (w, g)) in zip(want, got).enumerated() where w != g {
            Issue.record("shadow line \(k + 1): expected \"\(w)\", got \"\(g)\"")
        }
        #expect(got.count == want.count)
        #expect(run.stop.exitStatus == 33)
        #expect(run.output.contains("shadow: 9 passed, 0 failed"))
    }

    @Test func trapLogShowsTheMechanisms() throws {
        let run = try DemoRun.run(path: Self.guest, .trap)
        let log = run.vm.log
        #expect(log.total < UInt64(log.capacity), "the log dropped entries; the checks below need them all")
        let events = log.entries

        // Hidden faults: the shadow fills itself in, the guest never sees them.
        #expect(log.count(.shadowFault) > 0)
        #expect(events.contains { $0.kind == .shadowFault && $0.outcome.hasPrefix("hidden fault") })
        // ... and the first write to a clean page sets the guest's dirty bit (check d).
        #expect(events.contains { $0.kind == .shadowFault && $0.outcome.hasPrefix("guest dirty bit set") })
        // CR0.WP = 0 (check i): the supervisor write to a read-only page is done for the guest.
        #expect(events.contains { $0.kind == .shadowFault && $0.outcome.contains("CR0.WP=0")
                                   && $0.instruction.hasPrefix("mov dword [dword 0x405000]") })

        // Traced page-table writes: through the identity map (checks a, b, d, f, g), through the
        // recursive map at 0xC0000000 (check h: PTE_OF(PAGE_Z) = 0xC000100C), and the #PF
        // handler's, which maps the faulting page through the recursive map (check e).
        let ptWrites = events.filter { $0.kind == .ptWrite }
        #expect(ptWrites.count >= 7)
        #expect(ptWrites.contains { $0.instruction.contains("0xc000100c") })
        #expect(ptWrites.contains { $0.instruction.hasPrefix("mov [eax-0x40000000]") })
        #expect(ptWrites.allSatisfy { $0.code == 14 && $0.detail == PFError.write | PFError.present })

        // Emulated CR3 loads: paging on, then the switch to the second directory and back (check c).
        let cr3Loads = events.filter { $0.kind == .emulated && $0.instruction.hasPrefix("mov cr3") }
        #expect(cr3Loads.count == 3)
        #expect(cr3Loads.allSatisfy { $0.outcome.contains("shadow tables dropped") })
        // Emulated INVLPGs: two in a, one in d, one in f, two in g, two in h.
        let invlpgs = events.filter { $0.kind == .emulated && $0.instruction.hasPrefix("invlpg") }
        #expect(invlpgs.count == 8)
        #expect(invlpgs.map(\.outcome).contains("shadow entry for 0x00403000 dropped"))

        // True faults, reflected with the guest's error code: a supervisor read of a
        // not-present page (b), a supervisor write to one (e), a write to a read-only page with WP=1 (f).
        let reflected = events.filter { $0.kind == .exception }
        #expect(reflected.map(\.code) == [14, 14, 14])
        #expect(reflected.map(\.detail) == [0x0, 0x2, 0x3])
        #expect(reflected.map(\.instruction) == ["mov ebx,[dword 0x401000]", "mov dword [dword 0x404000],0xeeee0005",
                                                  "mov dword [dword 0x405000],0x12345678"])
        #expect(reflected.allSatisfy { $0.guestCPL == 0 && $0.realCPL == 1 })
        // ... and with the faulting address in the guest's CR2, which its handler reads (an emulated MOV from CR2).
        let cr2Reads = events.filter { $0.kind == .emulated && $0.instruction.hasPrefix("mov eax,cr2") }
        #expect(cr2Reads.map(\.outcome) == ["read guest CR2 = 0x00401000", "read guest CR2 = 0x00404000",
                                            "read guest CR2 = 0x00405000"])
    }
}

/// GuestMemory.walk on a hand-built guest memory: the access rights of
/// 32-bit paging (SDM Vol. 3 §4.6.1) with CR0.WP on and off, user and
/// supervisor accesses, rights combined over both levels, 4 MiB pages
/// (CR4.PSE, §4.3) and the #PF error codes (§4.7).
@Suite struct GuestWalkTests {
    static let base: UInt32 = 0x0010_0000       // guest-physical 0 at host-physical 1 MiB
    static let pd: UInt32 = 0x1000

    /// Page directory at gpa 0x1000:
    ///   PDE 1 (0x00400000) -> PT 0x2000, P|W|U; its PTEs 0-4: P|W|U, P|U, P|W, P, not present
    ///   PDE 2 (0x00800000) -> PT 0x3000, P|U (read-only at the directory); PTE 0: P|W|U
    ///   PDE 3 (0x00C00000) -> PT 0x4000, P|W (supervisor at the directory); PTE 0: P|W|U
    ///   PDE 4 (0x01000000) -> 4 MiB page at 0x00400000, P|W|U|PS|D
    ///   PDE 5 (0x01400000) -> 4 MiB page at 0x00800000, P|PS (supervisor, read-only)
    ///   PDE 6: not present
    final class Fixture {
        let machine = Machine(memoryMiB: 16, guestBase: GuestWalkTests.base)
        let mem: GuestMemory
        init() {
            mem = GuestMemory(cpu: machine.cpu, base: GuestWalkTests.base, size: 16 << 20)
            let P = PTE.present, W = PTE.writable, U = PTE.user
            let pd = GuestWalkTests.pd
            mem.write32(pd + 1 * 4, 0x2000 | P | W | U)
            for (k, e) in [P | W | U, P | U, P | W, P, 0].enumerated() {
                mem.write32(0x2000 + UInt32(k * 4), (0x0010_0000 + UInt32(k) * 0x1000) | e)
            }
            mem.write32(pd + 2 * 4, 0x3000 | P | U)
            mem.write32(0x3000, 0x0020_0000 | P | W | U)
            mem.write32(pd + 3 * 4, 0x4000 | P | W)
            mem.write32(0x4000, 0x0030_0000 | P | W | U)
            mem.write32(pd + 4 * 4, 0x0040_0000 | P | W | U | PTE.pageSize | PTE.dirty)
            mem.write32(pd + 5 * 4, 0x0080_0000 | P | PTE.pageSize)
        }
        func vcpu(wp: Bool, pse: Bool = true) -> VCPU {
            var v = VCPU()
            v.cr0 = CR0.pe | CR0.et | CR0.pg | (wp ? CR0.wp : 0)
            v.cr3 = GuestWalkTests.pd
            v.cr4 = pse ? CR4.pse : 0
            return v
        }
        func code(_ lin: UInt32, wp: Bool, write: Bool, user: Bool, pse: Bool = true) -> UInt32? {
            switch mem.walk(lin, vcpu: vcpu(wp: wp, pse: pse), write: write, user: user) {
            case .success: return nil
            case .failure(let e):
                #expect(e.vector == Vector.pf)
                return e.errorCode
            }
        }
    }

    /// Effective rights of each present test page: (lin, user-accessible, writable), both levels ANDed.
    static let pages: [(lin: UInt32, user: Bool, writable: Bool, what: String)] = [
        (0x0040_0000, true, true, "user read/write"),
        (0x0040_1000, true, false, "user read-only"),
        (0x0040_2000, false, true, "supervisor read/write"),
        (0x0040_3000, false, false, "supervisor read-only"),
        (0x0080_0000, true, false, "PTE writable, PDE read-only"),
        (0x00C0_0000, false, true, "PTE user, PDE supervisor"),
        (0x0100_0000, true, true, "4 MiB user read/write"),
        (0x0140_0000, false, false, "4 MiB supervisor read-only"),
    ]

    /// SDM Vol. 3 §4.6.1, for every page, access kind and WP: a supervisor
    /// read is always allowed; a supervisor write needs R/W = 1 at both levels
    /// when CR0.WP = 1, and nothing when WP = 0; a user access needs U/S = 1 at
    /// both levels, and a user write R/W = 1 too, whatever WP is.  A refused
    /// access gives P = 1 in the error code, plus W/R and U/S of the access.
    @Test func permissionRules() {
        let f = Fixture()
        for page in Self.pages {
            for wp in [false, true] {
                for user in [false, true] {
                    for write in [false, true] {
                        let allowed: Bool
                        if user { allowed = page.user && (!write || page.writable) }
                        else { allowed = !write || page.writable || !wp }
                        let want: UInt32? = allowed ? nil
                            : PFError.present | (write ? PFError.write : 0) | (user ? PFError.user : 0)
                        let got = f.code(page.lin + 0x123, wp: wp, write: write, user: user)
                        #expect(got == want, "\(page.what): wp=\(wp) user=\(user) write=\(write)")
                    }
                }
            }
        }
    }

    @Test func spotChecks() {
        let f = Fixture()
        // CR0.WP decides a supervisor write to a read-only page.
        #expect(f.code(0x0040_3000, wp: true, write: true, user: false) == 0x3)
        #expect(f.code(0x0040_3000, wp: false, write: true, user: false) == nil)
        // ... and to a user read-only page.
        #expect(f.code(0x0040_1000, wp: true, write: true, user: false) == 0x3)
        #expect(f.code(0x0040_1000, wp: false, write: true, user: false) == nil)
        // A user write to a read-only page faults whatever WP is.
        #expect(f.code(0x0040_1000, wp: false, write: true, user: true) == 0x7)
        // A user read of a supervisor page.
        #expect(f.code(0x0040_2000, wp: false, write: false, user: true) == 0x5)
        // Read-only at the directory level wins over a writable PTE.
        #expect(f.code(0x0080_0000, wp: true, write: true, user: true) == 0x7)
        // Supervisor at the directory level wins over a user PTE.
        #expect(f.code(0x00C0_0000, wp: false, write: false, user: true) == 0x5)
    }

    @Test func notPresentErrorCodes() {
        let f = Fixture()
        // Not-present PTE and not-present PDE: P = 0, W/R and U/S from the access.
        #expect(f.code(0x0040_4000, wp: true, write: false, user: false) == 0x0)
        #expect(f.code(0x0040_4000, wp: true, write: true, user: false) == 0x2)
        #expect(f.code(0x0040_4000, wp: true, write: false, user: true) == 0x4)
        #expect(f.code(0x0180_0000, wp: true, write: true, user: true) == 0x6)
        // Not present beats a protection violation: a user write to it still has P = 0.
        #expect(f.code(0x0180_0000, wp: false, write: true, user: true) == 0x6)
    }

    @Test func walkResultFor4KiBPage() throws {
        let f = Fixture()
        let w = try f.mem.walk(0x0040_2ABC, vcpu: f.vcpu(wp: true), write: false, user: false).get()
        #expect(w.gpa == 0x0010_2ABC)
        #expect(w.user == false && w.writable == true && w.dirty == false)
        #expect(w.tables == [0x1, 0x2])
        #expect(w.pdeAddress == 0x1004)
        #expect(w.pteAddress == 0x2008)
    }

    @Test func fourMiBPages() throws {
        let f = Fixture()
        let w = try f.mem.walk(0x0123_4567, vcpu: f.vcpu(wp: true), write: true, user: true).get()
        #expect(w.gpa == 0x0063_4567)
        #expect(w.user && w.writable && w.dirty)
        #expect(w.tables == [0x1])
        #expect(w.pdeAddress == 0x1010 && w.pteAddress == nil)
        // With CR4.PSE = 0 the PS bit is ignored (SDM Vol. 3 §4.3): the PDE names a page
        // table at 0x00400000, whose entries are all zero here — not present.
        #expect(f.code(0x0123_4567, wp: true, write: false, user: false, pse: false) == 0x0)
        // The supervisor read-only 4 MiB page.
        #expect(f.code(0x0140_0000, wp: true, write: true, user: false) == 0x3)
        #expect(f.code(0x0140_0000, wp: false, write: true, user: false) == nil)
        #expect(f.code(0x0140_0000, wp: false, write: false, user: true) == 0x5)
    }

    @Test func markAccessedSetsAccessedAndDirty() throws {
        let f = Fixture()
        let v = f.vcpu(wp: true)
        let r = try f.mem.walk(0x0040_0010, vcpu: v, write: false, user: false).get()
        f.mem.markAccessed(r, write: false)
        #expect(f.mem.read32(0x1004) & PTE.accessed != 0)
        #expect(f.mem.read32(0x2000) & (PTE.accessed | PTE.dirty) == PTE.accessed)
        let w = try f.mem.walk(0x0040_0010, vcpu: v, write: true, user: false).get()
        #expect(w.dirty == false)
        f.mem.markAccessed(w, write: true)
        #expect(f.mem.read32(0x2000) & (PTE.accessed | PTE.dirty) == PTE.accessed | PTE.dirty)
        #expect(try f.mem.walk(0x0040_0010, vcpu: v, write: false, user: false).get().dirty)
        // A 4 MiB page: the bits go into the PDE.
        let big = try f.mem.walk(0x0140_0000, vcpu: v, write: false, user: false).get()
        f.mem.markAccessed(big, write: false)
        #expect(f.mem.read32(0x1014) & (PTE.accessed | PTE.dirty) == PTE.accessed)
    }

    @Test func pagingOffIsIdentityWithinRAM() throws {
        let f = Fixture()
        var v = VCPU()
        v.cr0 = CR0.pe | CR0.et
        let w = try f.mem.walk(0x0012_3456, vcpu: v, write: true, user: true).get()
        #expect(w.gpa == 0x0012_3456 && w.tables.isEmpty)
        guard case .failure = f.mem.walk(16 << 20, vcpu: v, write: false, user: false) else {
            Issue.record("an address beyond guest RAM must not translate"); return
        }
    }
}
