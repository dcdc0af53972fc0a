import Monitors
import X86

// `info vmcs` and `info ept` under `vtx` (issue 6's verbs, needed by lessons
// 5 and 7), and `technique vtx ept|shadow` to choose the memory
// virtualization.  The VMCS is shown control group by control group with
// the SDM's names (Vol. 3C §24.6-24.9), then the last exit's information
// fields and the exits so far by basic reason (App. C).  `info ept ADDR` is
// the two-dimensional walk: the guest's own walk of the linear address, then
// the EPT walk of the guest-physical address it gives, entry by entry.

extension Session {
    /// `technique NAME [PAGING]`: the name, and under vtx `ept` or `shadow`.
    static func techniqueWords(_ text: String) throws(CommandError) -> (Technique, VTxPaging?) {
        let words = text.split(separator: " ").map(String.init)
        guard let first = words.first, Session.techniques.contains(first), let t = Technique(rawValue: first) else {
            throw CommandError("unknown technique '\(text)' (native, trap, bt, vtx or pv)")
        }
        guard words.count > 1 else { return (t, nil) }
        guard t == .vtx, words.count == 2, let p = VTxPaging(rawValue: words[1]) else {
            throw CommandError("technique \(first) takes no '\(words.dropFirst().joined(separator: " "))' (only vtx takes ept or shadow)")
        }
        return (t, p)
    }

    var vtx: VTxMonitor? { monitor as? VTxMonitor }

    func vtxInfo(_ topic: String) throws(CommandError) {
        guard let v = vtx else { throw notAvailable() }
        switch topic {
        case "vmcs": emit(vmcsText(v))
        default: throw notAvailable()
        }
    }

    // MARK: - info vmcs

    /// The guest-state area (SDM Vol. 3C §24.4): what VM entry loads and VM exit saves.
    static func guestStateText(_ g: VMCS.GuestState) -> String {
        var rows: [[String]] = [["guest-state area", "selector", "base", "limit", "access rights"]]
        for (k, name) in ["ES", "CS", "SS", "DS", "FS", "GS"].enumerated() {
            let f = g.segments[k]
            rows.append(["  " + name, hex(f.selector, digits: 4), hex(f.base), hex(f.limit), hex(f.accessRights, digits: 5)])
        }
        for (name, f) in [("LDTR", g.ldtr), ("TR", g.tr)] {
            rows.append(["  " + name, hex(f.selector, digits: 4), hex(f.base), hex(f.limit), hex(f.accessRights, digits: 5)])
        }
        rows.append(["  GDTR / IDTR", "", hex(g.gdtr.base) + " / " + hex(g.idtr.base),
                     hex(g.gdtr.limit, digits: 4) + " / " + hex(g.idtr.limit, digits: 4), ""])
        let blocking = [(1, "STI"), (2, "MOV SS"), (4, "SMI"), (8, "NMI")].filter { g.interruptibility & UInt32($0.0) != 0 }.map(\.1)
        let activity = ["active", "HLT", "shutdown", "wait-for-SIPI"][Int(min(g.activityState, 3))]
        rows.append(["  interruptibility", hex(g.interruptibility, digits: 1),
                     blocking.isEmpty ? "no blocking" : "blocking by " + blocking.joined(separator: ", "), "activity", activity])
        return table(rows)
    }

    /// The host-state area (SDM Vol. 3C §24.5): what every VM exit loads — the monitor's own state.
    static func hostStateText(_ h: VMCS.HostState) -> String {
        let names = ["ES", "CS", "SS", "DS", "FS", "GS", "TR"]
        let sels = zip(names, h.selectors).map { $0 + " " + hex($1, digits: 4) }.joined(separator: " ")
        let rows: [[String]] = [
            ["host-state area", "CR0 " + hex(h.cr0) + "  CR3 " + hex(h.cr3) + "  CR4 " + hex(h.cr4)],
            ["", sels],
            ["", "ESP " + hex(h.esp) + "  EIP " + hex(h.eip) + "  GDTR " + hex(h.gdtrBase) + "  IDTR " + hex(h.idtrBase)],
            ["", "(the VMM here is Ringside's monitor, outside the machine: an exit returns to it, not to a host EIP)"],
        ]
        return table(rows)
    }

    static let pinNames: [(VMCS.PinBased, String)] = [
        (.externalInterruptExiting, "external-interrupt exiting"), (.nmiExiting, "NMI exiting"),
        (.virtualNMIs, "virtual NMIs"), (.preemptionTimer, "preemption timer"), (.postedInterrupts, "posted interrupts"),
    ]
    static let primaryNames: [(VMCS.Primary, String)] = [
        (.interruptWindowExiting, "interrupt-window exiting"), (.tscOffsetting, "TSC offsetting"),
        (.hltExiting, "HLT exiting"), (.invlpgExiting, "INVLPG exiting"), (.mwaitExiting, "MWAIT exiting"),
        (.rdpmcExiting, "RDPMC exiting"), (.rdtscExiting, "RDTSC exiting"), (.cr3LoadExiting, "CR3-load exiting"),
        (.cr3StoreExiting, "CR3-store exiting"), (.cr8LoadExiting, "CR8-load exiting"), (.cr8StoreExiting, "CR8-store exiting"),
        (.useTPRShadow, "use TPR shadow"), (.nmiWindowExiting, "NMI-window exiting"), (.movDRExiting, "MOV-DR exiting"),
        (.unconditionalIOExiting, "unconditional I/O exiting"), (.useIOBitmaps, "use I/O bitmaps"),
        (.monitorTrapFlag, "monitor trap flag"), (.useMSRBitmaps, "use MSR bitmaps"), (.monitorExiting, "MONITOR exiting"),
        (.pauseExiting, "PAUSE exiting"), (.activateSecondaryControls, "activate secondary controls"),
    ]
    static let secondaryNames: [(VMCS.Secondary, String)] = [
        (.virtualizeAPICAccesses, "virtualize APIC accesses"), (.enableEPT, "enable EPT"),
        (.descriptorTableExiting, "descriptor-table exiting"), (.enableRDTSCP, "enable RDTSCP"),
        (.enableVPID, "enable VPID"), (.wbinvdExiting, "WBINVD exiting"), (.unrestrictedGuest, "unrestricted guest"),
    ]

    static func names<T: OptionSet>(_ set: T, _ table: [(T, String)]) -> String where T.Element == T {
        let n = table.filter { set.contains($0.0) }.map(\.1)
        return n.isEmpty ? "(none)" : n.joined(separator: ", ")
    }

    static func crBits(_ v: UInt32, cr4: Bool) -> String {
        let bits: [(UInt32, String)] = cr4
            ? [(CR4.pse, "PSE"), (CR4.pae, "PAE"), (CR4.pge, "PGE"), (1 << 13, "VMXE")]
            : [(CR0.pe, "PE"), (CR0.mp, "MP"), (CR0.em, "EM"), (CR0.ts, "TS"), (CR0.et, "ET"), (CR0.ne, "NE"),
               (CR0.wp, "WP"), (CR0.am, "AM"), (CR0.nw, "NW"), (CR0.cd, "CD"), (CR0.pg, "PG")]
        let n = bits.filter { v & $0.0 != 0 }.map(\.1)
        return hex(v) + (n.isEmpty ? "" : " " + n.joined(separator: " "))
    }

    func vmcsText(_ v: VTxMonitor) -> String {
        let c = v.vmcs
        let vectors = (0..<32).filter { c.exceptionBitmap & (1 << UInt32($0)) != 0 }.map { Session.trapName(UInt8($0)) }
        let g = c.guest
        var rows: [[String]] = [
            ["pin-based controls", hex(c.pinBased.rawValue), Session.names(c.pinBased, Session.pinNames)],
            ["primary controls", hex(c.primary.rawValue), Session.names(c.primary, Session.primaryNames)],
            ["secondary controls", hex(c.secondaryControls.rawValue), Session.names(c.secondaryControls, Session.secondaryNames)],
            ["exception bitmap", hex(c.exceptionBitmap), vectors.isEmpty ? "(none)" : vectors.joined(separator: " ")],
            ["CR0 guest/host mask", Session.crBits(c.cr0GuestHostMask, cr4: false), "read shadow " + Session.crBits(c.cr0ReadShadow, cr4: false)],
            ["CR4 guest/host mask", Session.crBits(c.cr4GuestHostMask, cr4: true), "read shadow " + Session.crBits(c.cr4ReadShadow, cr4: true)],
            ["I/O bitmaps", c.primary.contains(.useIOBitmaps) ? "in use" : "off", ioSummary(c)],
            ["EPT pointer", c.eptPointer == 0 ? "0" : "0x" + String(c.eptPointer, radix: 16),
             v.usesEPT ? "PML4 at " + hex(UInt32(truncatingIfNeeded: c.eptPointer) & 0xFFFF_F000) + ", write-back, 4 levels" : "EPT off: shadow paging"],
            ["guest CS:EIP", hex(g.segments[Seg.cs].selector, digits: 4) + ":" + hex(g.eip), "ESP " + hex(g.esp) + "  EFLAGS " + hex(g.eflags)],
            // With EPT the processor loads the guest's own CR3 (this model keeps
            // its combined TLB in the CPU's CR3, so show the vCPU's).
            ["guest CR0/CR3/CR4", hex(g.cr0) + " " + hex(v.usesEPT ? v.vcpu.cr3 : g.cr3) + " " + hex(g.cr4),
             v.usesEPT ? "the guest's own CR3" : "CR3 is the VMM's shadow directory"],
        ]
        let e = c.exit
        if let r = ExitReason(rawValue: e.basicReason), v.exitCounts.values.reduce(0, +) > 0 {
            rows.append(["last exit", "reason \(r.rawValue) \(r.name)", "qualification " + hex(e.qualification)
                         + (e.instructionLength > 0 ? ", instruction length \(e.instructionLength)" : "")])
            if let detail = Session.qualificationText(r, e.qualification) { rows.append(["", "", detail]) }
        }
        if v.exitCounts.values.reduce(0, +) > 0 {
            rows.append(["exit information", "guest-linear " + hex(e.guestLinearAddress),
                         "guest-physical 0x" + String(e.guestPhysicalAddress, radix: 16)
                         + "; interruption info " + hex(e.interruptionInfo) + "; IDT-vectoring info " + hex(e.idtVectoringInfo)])
        }
        var s = "VMCS of the guest (technique vtx, " + (v.usesEPT ? "EPT" : "shadow paging") + "); fields as in the Intel SDM Vol. 3C ch. 24\n"
        s += Session.table(rows)
        s += Session.guestStateText(g) + Session.hostStateText(c.host)
        let counts = v.exitCounts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        if counts.isEmpty {
            s += "no VM exits yet\n"
        } else {
            s += "VM exits so far: " + counts.map { k, n in
                "\(k) " + (ExitReason(rawValue: k)?.name ?? "?") + " \(n)"
            }.joined(separator: ", ") + "\n"
        }
        return s
    }

    func ioSummary(_ c: VMCS) -> String {
        guard c.primary.contains(.useIOBitmaps) else {
            return c.primary.contains(.unconditionalIOExiting) ? "every port exits" : "no port exits"
        }
        let set = (c.ioBitmapA + c.ioBitmapB).reduce(0) { $0 + $1.nonzeroBitCount }
        return set == 65536 ? "every port exits" : "\(set) of 65536 ports exit"
    }

    /// The exit qualification in words, for the reasons whose format the SDM defines (§27.2.1).
    static func qualificationText(_ r: ExitReason, _ q: UInt32) -> String? {
        switch r {
        case .ioInstruction:
            return "\(q & 8 != 0 ? "IN" : "OUT"), \((q & 7) + 1) byte(s), port " + hex(q >> 16, digits: 4)
                + (q & 16 != 0 ? ", string" : "") + (q & 32 != 0 ? ", REP" : "") + (q & 64 != 0 ? ", immediate port" : ", port in DX")
        case .crAccess:
            let type = ["MOV to CR", "MOV from CR", "CLTS", "LMSW"][Int(q >> 4) & 3]
            return type + ", CR\(q & 0xF), register " + Reg.names32[Int(q >> 8) & 7]
        case .invlpg, .exceptionOrNMI:
            return r == .invlpg ? "linear address " + hex(q) : (q == 0 ? nil : "(#PF) linear address " + hex(q))
        default:
            return nil
        }
    }

    // MARK: - info ept

    func eptInfo(_ e: Expr) throws(CommandError) {
        guard let v = vtx else { throw notAvailable() }
        guard v.usesEPT else {
            throw CommandError("not available: this vtx guest runs with shadow paging (`technique vtx ept` restarts it with EPT; `info shadow` shows its tables)")
        }
        let lin = try address(e)
        guard let gw = monitor.guestWalk(linear: lin) else { throw notAvailable() }
        var s = "linear \(hex(lin))" + (symbols.label(lin).map { " <\($0)>" } ?? "") + "\n"
        var guestLevels = 0
        if gw.paging {
            s += "1. the guest's walk (its CR3 \(hex(gw.cr3)); entries at guest-physical addresses):\n"
            s += Session.walkLines(gw, space: "").map { "  " + $0 + "\n" }.joined()
            guestLevels = gw.steps.count
        } else {
            s += "1. paging is off in the guest: linear = guest-physical\n"
        }
        guard let gpa = gw.result else {
            return emit(s + "  not present: an access raises #PF in the guest, with no VM exit\n")
        }
        s += "  guest-physical \(hex(gpa))\n"
        guard let w = v.eptWalk(guestPhysical: gpa) else { throw notAvailable() }
        s += "2. the EPT walk of guest-physical \(hex(gpa)) (EPTP 0x\(String(w.eptp, radix: 16)); entries at host-physical addresses):\n"
        for st in w.steps {
            s += "  \(st.level)[\(st.index)] at \(hex(st.address)) = 0x" + GDBFormat.padded(String(st.entry, radix: 16), 16)
                + " " + Session.eptRights(st.entry, leaf: st.level == "PTE") + "\n"
        }
        if let h = w.host { s += "  host-physical \(hex(h))\n" } else { s += "  no access: an EPT violation (VM exit 48)\n" }
        if gw.paging {
            // Every guest paging-structure reference is itself a guest-physical
            // address the hardware translates through the EPT (SDM §28.2.1).
            let refs = (guestLevels + 1) * (4 + 1) - 1
            s += "two-dimensional walk: the guest's \(guestLevels) entries are fetched at guest-physical addresses, so each needs an EPT walk of 4 first,\n"
            s += "and so does the final guest-physical address: (\(guestLevels) + 1) × (4 + 1) − 1 = \(refs) memory references on a TLB miss.\n"
        }
        emit(s)
    }

    static func eptRights(_ e: UInt64, leaf: Bool) -> String {
        var s = (e & 1 != 0 ? "R" : "-") + (e & 2 != 0 ? "W" : "-") + (e & 4 != 0 ? "X" : "-")
        if leaf {
            let types = [0: "UC", 1: "WC", 4: "WT", 5: "WP", 6: "WB"]
            s += " memory type " + (types[Int(e >> 3) & 7] ?? "?")
        }
        return s
    }
}
