// `info vmcs`, `info ept`, `technique vtx ept|shadow` and `catch exit REASON`
// (Sources/Debugger/VTxInfo.swift, Intercepts.swift): what lessons 5 and 7
// show of VT-x, checked against the rings demo.

import Testing
@testable import Debugger
import Monitors

@Suite("VT-x views")
struct VTxInfoTests {
    func rings(_ technique: String = "vtx") throws -> Session {
        var o = SessionOptions()
        o.technique = technique
        o.paging = .shadow          // first-generation VT-x: #PF exits, then EPT by `technique vtx ept`
        o.maxInstructions = 20_000_000
        return try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/rings.elf").path, options: o)
    }

    @Test("info vmcs names the controls, the last exit and its qualification")
    func vmcs() throws {
        let s = try rings()
        let before = s.execute("info vmcs").text
        #expect(before.contains("HLT exiting, INVLPG exiting, CR3-load exiting, CR3-store exiting"))
        #expect(before.contains("exception bitmap     0x00004000                        #PF"))
        #expect(before.contains("EPT off: shadow paging"))
        #expect(before.contains("no VM exits yet"))
        _ = s.execute("catch exit 28")
        _ = s.execute("continue")
        let after = s.execute("info vmcs").text
        #expect(after.contains("reason 28 CR_ACCESS"))
        #expect(after.contains("MOV to CR, CR3, register eax"))
        #expect(try rings("trap").execute("info vmcs").error?.message == "not available under trap")
    }

    @Test("catch exit REASON matches the reason's number or name, not other text")
    func catchExit() throws {
        let s = try rings()
        _ = s.execute("catch exit 28")
        _ = s.execute("continue")
        // The #PF exits before it mention addresses such as 0x00104028.
        #expect(s.execute("expect $_event_code == 28").error == nil)
        _ = s.execute("delete")
        _ = s.execute("catch exit io")
        _ = s.execute("continue")
        #expect(s.execute("expect $_event_code == 30").error == nil)
        _ = s.execute("delete")
        _ = s.execute("catch exit EXCEPTION")
        _ = s.execute("continue")
        // The shadow fill after a #PF exit is logged after it: $_event_code is that one's.
        #expect(s.execute("expect $_exit_reason == 0 && $_exit_qualification != 0").error == nil)
    }

    @Test("technique vtx ept restarts with EPT; info ept draws the two-dimensional walk")
    func ept() throws {
        let s = try rings()
        #expect(s.execute("info ept 0x1000").error?.message.hasPrefix("not available: this vtx guest runs with shadow paging") == true)
        #expect(s.execute("technique vtx ept").text == "Restarted the guest under vtx (EPT): hardware-assisted virtualization, after Intel VT-x with EPT.\n")
        #expect(s.execute("info vmcs").text.contains("enable EPT"))
        _ = s.execute("break t_readonly")
        _ = s.execute("continue")
        let walk = s.execute("info ept &user_ro_page").text
        #expect(walk.contains("PTE[266] at 0x00106428 = 0x0010a005"))
        #expect(walk.contains("PTE[266] at 0x00443850 = 0x000000000090a037 RWX memory type WB"))
        #expect(walk.contains("host-physical 0x0090a000"))
        #expect(walk.contains("(2 + 1) × (4 + 1) − 1 = 14 memory references"))
        #expect(s.execute("expect $_ept_walks > 0 && $_ept_references > $_ept_walks").error == nil)
        #expect(s.execute("technique vtx shadow").text.hasPrefix("Restarted the guest under vtx (shadow paging)"))
        #expect(s.execute("technique trap ept").error?.message == "technique trap takes no 'ept' (only vtx takes ept or shadow)")
        #expect(s.execute("technique vtx fast").error?.message == "technique vtx takes no 'fast' (only vtx takes ept or shadow)")
    }
}
