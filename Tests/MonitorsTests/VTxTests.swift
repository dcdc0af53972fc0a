import Testing
@testable import Monitors
import PC
import X86

/// `vtx` (issue 7, the VT-x part): the guest kernel runs at real CPL 0 in
/// VMX non-root operation, so every demo prints exactly QEMU's output and
/// exits with its status — the holes trap-and-emulate leaves are gone.  The
/// trap log shows the VM exits with the SDM's basic reasons (Vol. 3C App. C)
/// and exit qualifications, and no `silent` events at all.
@Suite struct VTxTests {
    static let demos = ["hello", "sensitive", "rings", "timer", "minikernel", "minikernel-panic"]

    /// A demo under `vtx` with the VMCS controls changed before VM entry.
    static func run(_ name: String, paging: VTxPaging = .shadow, configure: (inout VMCS) -> Void = { _ in }) throws -> DemoRun {
        let path = DemoRun.root + "/demos/build/\(name).elf"
        let vm = try #require(VirtualMachine(technique: .vtx, paging: paging))
        let monitor = try #require(vm.monitor as? VTxMonitor)
        var vmcs = paging == .ept ? VTxMonitor.eptControls() : VTxMonitor.defaultControls()
        configure(&vmcs)
        monitor.vmcs = vmcs
        var bytes: [UInt8] = []
        vm.machine.onSerialOutput = { bytes.append($0) }
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        let stop = vm.run(maxInstructions: 100_000_000)
        return DemoRun(output: String(decoding: bytes, as: UTF8.self), stop: stop, vm: vm)
    }

    static func exits(_ run: DemoRun, _ reason: ExitReason) -> [TrapEvent] {
        run.vm.log.entries.filter { $0.kind == .vmexit && $0.code == UInt32(reason.rawValue) }
    }

    @Test(arguments: demos)
    func everyDemoMatchesQEMU(_ name: String) throws {
        let run = try DemoRun.run(name, .vtx)
        try DemoRun.expectQEMU(name, run)
        // Nothing sensitive misbehaves silently: the guest really is at CPL 0.
        #expect(run.vm.log.count(.silent) == 0)
        #expect(run.vm.log.count(.emulated) == 0)
        #expect(run.vm.log.entries.allSatisfy { $0.kind != .vmexit || ($0.nonRoot == true && $0.cycles == run.vm.cost.vmExit) })
    }

    /// sensitive.elf: SGDT, SIDT, SLDT, STR, POPF, IRET, LAR, LSL, PUSH CS …
    /// run natively and cause no exit; MOV EAX,CR0 and SMSW read the CR0
    /// read shadow (PG = WP = 0 as the guest set them) without an exit.
    @Test func sensitiveInstructionsDoNotExit() throws {
        let run = try DemoRun.run("sensitive", .vtx)
        let reasons = Set(run.vm.log.entries.filter { $0.kind == .vmexit }.compactMap(\.code))
        // Port I/O, #PF, and the BIOS timer's IRQ 0 pending at boot with IF = 0
        // (an external-interrupt exit, then an interrupt-window exit at the STI).
        let allowed: [ExitReason] = [.ioInstruction, .exceptionOrNMI, .externalInterrupt, .interruptWindow]
        #expect(reasons.isSubset(of: allowed.map { UInt32($0.rawValue) }))
        for mnemonic in ["sgdt", "sidt", "sldt", "str", "popf", "pushf", "iret", "lar", "lsl", "smsw", "mov eax,cr0"] {
            #expect(!run.vm.log.entries.contains { $0.kind == .vmexit && $0.instruction.hasPrefix(mnemonic) }, "\(mnemonic) exited")
        }
        // The real CR0 has PG and WP set for the shadow tables; the guest sees its own.
        let cpu = run.vm.machine.cpu
        #expect(cpu.cr0 & (CR0.pg | CR0.wp) == CR0.pg | CR0.wp)
        #expect(run.vm.monitor.vcpu.cr0 & (CR0.pg | CR0.wp) == 0)
    }

    /// I/O exits (reason 30) with the SDM qualification: size - 1 in 2:0,
    /// direction in 3 (1 = IN), string 4, REP 5, immediate 6, port 31:16.
    @Test func ioExitsCarryTheSDMQualification() throws {
        let run = try DemoRun.run("rings", .vtx)
        let io = Self.exits(run, .ioInstruction)
        #expect(io.count > 100)
        let out = try #require(io.first { $0.instruction == "out dx,al" })
        #expect(out.detail.map { $0 & 0xFFFF } == 0)                 // 1 byte, OUT, not string, DX
        #expect(out.detail.map { $0 >> 16 }.map { (0x3F8...0x3FF).contains($0) } == true)
        let input = try #require(io.first { $0.instruction == "in al,dx" })
        #expect(input.detail.map { $0 & 0xFFFF } == 1 << 3)          // 1 byte, IN, DX
        #expect(input.detail.map { $0 >> 16 } == 0x3FD)              // COM1 line status
        // The user-mode test of rings runs OUT at CPL 3 with IOPL 0: #GP in the guest, no exit.
        #expect(!io.contains { $0.guestCPL == 3 })
    }

    /// MOV CR3 and INVLPG exit under shadow paging (first-generation VT-x);
    /// timer interrupts are external-interrupt exits followed by injection.
    @Test func minikernelExits() throws {
        let run = try Self.run("minikernel", paging: .shadow)
        let cr = Self.exits(run, .crAccess)
        let cr3Loads = cr.filter { ($0.detail ?? 0) & 0xF == 3 && ($0.detail ?? 0) >> 4 & 3 == 0 }
        #expect(cr3Loads.count > 10)
        #expect(cr3Loads.allSatisfy { $0.instruction.hasPrefix("mov cr3,") })
        // Register field 11:8 names the source GPR of MOV to CR3.
        if let first = cr3Loads.first, let reg = first.instruction.split(separator: ",").last {
            let names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
            #expect(names.firstIndex(of: String(reg)) == Int((first.detail ?? 0) >> 8 & 0xF))
        }
        let invlpg = Self.exits(run, .invlpg)
        #expect(!invlpg.isEmpty)
        #expect(invlpg.allSatisfy { $0.outcome.contains(hex($0.detail ?? 0)) })
        #expect(Self.exits(run, .externalInterrupt).count > 10)
        #expect(run.vm.log.entries.contains { $0.kind == .injection && $0.code == 32 })
        // True faults of the user processes are injected with their CR2.
        #expect(run.vm.log.entries.contains { $0.kind == .injection && $0.code == 14 })
        #expect(run.vm.log.count(.shadowFault) > 0)
    }

    @Test func timerHaltsAndTakesInterruptsThroughExits() throws {
        let run = try DemoRun.run("timer", .vtx)
        #expect(Self.exits(run, .hlt).count > 0)
        #expect(Self.exits(run, .externalInterrupt).count > 0)
    }

    // ---- EPT ----

    /// With EPT every demo still prints QEMU's output, and the guest's CR3
    /// loads, INVLPGs, page faults and page-table writes cause no exit; the
    /// hardware's two-dimensional walks are counted instead.
    @Test(arguments: demos)
    func everyDemoMatchesQEMUWithEPT(_ name: String) throws {
        let run = try Self.run(name, paging: .ept)
        try DemoRun.expectQEMU(name, run)
        let log = run.vm.log
        #expect(log.count(.silent) == 0 && log.count(.emulated) == 0)
        #expect(log.count(.shadowFault) == 0 && log.count(.ptWrite) == 0)
        #expect(Self.exits(run, .exceptionOrNMI).isEmpty)
        #expect(Self.exits(run, .invlpg).isEmpty)
        #expect(!Self.exits(run, .crAccess).contains { ($0.detail ?? 0) & 0xF == 3 })
        let monitor = try #require(run.vm.monitor as? VTxMonitor)
        #expect(monitor.eptWalks > 0)
        // 2-level guest paging over a 4-level EPT: at most (2+1)(4+1) - 1 = 14 references a walk.
        #expect(monitor.eptReferences <= monitor.eptWalks * 14)
    }

    @Test func eptRemovesThePagingExits() throws {
        let shadow = try Self.run("minikernel", paging: .shadow)
        let ept = try Self.run("minikernel", paging: .ept)
        let exits = { (r: DemoRun) in r.vm.log.entries.filter { $0.kind == .vmexit }.count }
        let paging = { (r: DemoRun) in
            Self.exits(r, .exceptionOrNMI).count + Self.exits(r, .invlpg).count
                + Self.exits(r, .crAccess).filter { ($0.detail ?? 0) & 0xF == 3 }.count
        }
        #expect(paging(shadow) > 1_000 && paging(ept) == 0)
        #expect(exits(ept) == exits(shadow) - paging(shadow))
        #expect(Self.exits(ept, .externalInterrupt).count > 0 && Self.exits(ept, .ioInstruction).count > 0)
    }

    @Test func eptWalk() throws {
        let vm = try #require(VirtualMachine(technique: .vtx, paging: .ept))
        let path = DemoRun.root + "/demos/build/hello.elf"
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        let monitor = try #require(vm.monitor as? VTxMonitor)
        #expect(monitor.vmcs.eptPointer & 0x3F == 6 | 3 << 3)      // WB, 4-level walk
        let t = EPTTables.translate(cpu: vm.machine.cpu, eptp: monitor.vmcs.eptPointer, gpa: 0x0010_1234, write: true, fetch: false)
        #expect(t.host == MonitorLayout.guestBase + 0x0010_1234 && t.references == 4 && t.rights == 7)
        let outside = EPTTables.translate(cpu: vm.machine.cpu, eptp: monitor.vmcs.eptPointer, gpa: 0x3000_0000, write: false, fetch: false)
        #expect(outside.host == nil)
    }

    /// tests/guests/shadow.elf (PTE writes, INVLPG, a CR3 switch, A/D bits,
    /// true faults with CR2 and error code, CR0.WP, 4 MiB pages) under both
    /// memory modes: QEMU's output byte for byte.
    @Test(arguments: VTxPaging.allCases)
    func shadowGuestMatchesQEMU(_ paging: VTxPaging) throws {
        let path = DemoRun.root + "/" + ShadowPagingTests.guest
        let vm = try #require(VirtualMachine(technique: .vtx, paging: paging))
        var bytes: [UInt8] = []
        vm.machine.onSerialOutput = { bytes.append($0) }
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        let stop = vm.run(maxInstructions: 100_000_000)
        #expect(String(decoding: bytes, as: UTF8.self) == (try DemoRun.text(path: "tests/guests/shadow.out")))
        #expect(stop.exitStatus == 33)
        #expect(vm.log.count(.silent) == 0)
    }

    /// A triple fault in non-root operation is VM exit 2; the run ends as on hardware (status 2).
    @Test func tripleFaultIsAnExit() throws {
        let run = try DemoRun.run(path: "tests/guests/triple.bin", .vtx)
        #expect(run.stop == .tripleFault)
        #expect(run.vm.log.entries.last?.kind == .vmexit && run.vm.log.entries.last?.code == 2)
    }

    // ---- VMCS control combinations ----

    /// Without HLT exiting and external-interrupt exiting the guest halts and
    /// takes its timer natively: same output, none of those exits.
    @Test func hltAndInterruptExitingOff() throws {
        let run = try Self.run("timer") { $0.primary.remove(.hltExiting); $0.pinBased = [] }
        try DemoRun.expectQEMU("timer", run)
        #expect(Self.exits(run, .hlt).isEmpty)
        #expect(Self.exits(run, .externalInterrupt).isEmpty)
    }

    /// Descriptor-table exiting makes SGDT/SIDT (46) and SLDT/STR/LLDT/LTR (47) exit, with the same results.
    @Test func descriptorTableExiting() throws {
        let run = try Self.run("sensitive") { $0.secondaryControls.insert(.descriptorTableExiting) }
        try DemoRun.expectQEMU("sensitive", run)
        let gdt = Self.exits(run, .gdtrIdtrAccess), ldt = Self.exits(run, .ldtrTrAccess)
        #expect(gdt.contains { $0.instruction.hasPrefix("sgdt") } && gdt.contains { $0.instruction.hasPrefix("sidt") })
        #expect(ldt.contains { $0.instruction.hasPrefix("sldt") } && ldt.contains { $0.instruction.hasPrefix("str") })
    }

    /// I/O bitmaps: clearing COM1's bits (0x3F8-0x3FF) gives the guest the UART directly.
    @Test func ioBitmapPassThrough() throws {
        let run = try Self.run("hello") { v in for p: UInt16 in 0x3F8...0x3FF { v.setIOExiting(p, false) } }
        try DemoRun.expectQEMU("hello", run)
        #expect(!Self.exits(run, .ioInstruction).contains { (0x3F8...0x3FF).contains(($0.detail ?? 0) >> 16) })
        // Unconditional I/O exiting instead of bitmaps: every port exits again.
        let all = try Self.run("hello") { $0.primary.remove(.useIOBitmaps); $0.primary.insert(.unconditionalIOExiting) }
        try DemoRun.expectQEMU("hello", all)
        #expect(Self.exits(all, .ioInstruction).count > 100)
    }

    /// The exception bitmap: #GP (13) in the bitmap exits and is re-injected.
    @Test func exceptionBitmap() throws {
        let run = try Self.run("rings") { $0.exceptionBitmap |= 1 << 13 }
        try DemoRun.expectQEMU("rings", run)
        #expect(Self.exits(run, .exceptionOrNMI).contains { $0.outcome.contains("#GP") })
    }

    // ---- The processor's decisions, field by field ----

    @Test func vmcsDecisions() {
        var v = VTxMonitor.defaultControls()
        #expect(v.ioExits(port: 0x3F8, size: 1))
        v.setIOExiting(0x80, false)
        #expect(!v.ioExits(port: 0x80, size: 1))
        #expect(v.ioExits(port: 0x7F, size: 2))                 // any byte's bit
        v.setIOExiting(0x9000, false)
        #expect(!v.ioExits(port: 0x9000, size: 1))             // bitmap B
        #expect(v.ioExits(port: 0xFFFF, size: 2))               // wrap
        #expect(!v.msrExits(0x174, write: false) && !v.msrExits(0x176, write: true))
        #expect(v.msrExits(0x10, write: false) && v.msrExits(0x10, write: true))
        #expect(v.msrExits(0x4000_0000, write: false))           // outside both ranges
        v.primary.remove(.useMSRBitmaps)
        #expect(v.msrExits(0x174, write: false))
        // #PF: exit iff ((PFEC & mask) == match) == bitmap bit 14.
        #expect(v.exceptionExits(Vector.pf, errorCode: 2))
        v.pageFaultErrorCodeMask = PFError.present; v.pageFaultErrorCodeMatch = PFError.present
        #expect(!v.exceptionExits(Vector.pf, errorCode: 0) && v.exceptionExits(Vector.pf, errorCode: 1))
        #expect(!v.exceptionExits(Vector.gp, errorCode: 0))
        // CR0: host-owned PE, WP, PG; read shadow PE only.
        v.cr0ReadShadow = CR0.pe
        #expect(!v.cr0WriteExits(CR0.pe | CR0.ts))
        #expect(v.cr0WriteExits(CR0.pe | CR0.pg))
        #expect(v.guestView(cr0: CR0.pe | CR0.pg | CR0.wp | CR0.et) == CR0.pe | CR0.et)
        #expect(v.realAfterWrite(cr0: CR0.pe | CR0.pg | CR0.wp, CR0.pe | CR0.ts) == CR0.pe | CR0.pg | CR0.wp | CR0.ts)
        #expect(v.cr3LoadExits(0x1000))
        v.cr3TargetCount = 1; v.cr3TargetValues[0] = 0x1000
        #expect(!v.cr3LoadExits(0x1000) && v.cr3LoadExits(0x2000))
        #expect(v.secondary.isEmpty)
        v.primary.remove(.activateSecondaryControls); v.secondaryControls = [.enableEPT]
        #expect(v.secondary.isEmpty)                             // not activated
    }

    @Test func qualificationFormats() {
        #expect(ExitQualification.crAccess(cr: 3, type: 0, gpr: 0) == 0x003)
        #expect(ExitQualification.crAccess(cr: 3, type: 1, gpr: 3) == 0x313)
        #expect(ExitQualification.crAccess(cr: 0, type: 3, lmswMemory: true, lmswSource: 0x0011) == 0x0011_0070)
        #expect(ExitQualification.io(size: 1, input: false, string: false, rep: false, immediate: true, port: 0xF4) == 0x00F4_0040)
        #expect(ExitQualification.io(size: 4, input: true, string: true, rep: true, immediate: false, port: 0x1F0) == 0x01F0_003B)
        #expect(ExitQualification.interruptionInfo(vector: 14, type: 3, errorCode: true) == 0x8000_0B0E)
        #expect(ExitQualification.interruptionInfo(vector: 32, type: 0, errorCode: false) == 0x8000_0020)
        #expect(ExitReason.cpuid.rawValue == 10 && ExitReason.crAccess.rawValue == 28 && ExitReason.eptViolation.rawValue == 48)
    }

    /// CPUID exits unconditionally in non-root operation (reason 10) and the
    /// VMM answers with its own leaves.  (The opcode table gives CPUID no
    /// trait, so the CPU does not yet show it to the intercept while running;
    /// this drives the intercept directly.)
    @Test func cpuidExitsUnconditionally() throws {
        let path = DemoRun.root + "/demos/build/hello.elf"
        let vm = try #require(VirtualMachine(technique: .vtx))
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        let monitor = try #require(vm.monitor as? VTxMonitor)
        guard case .ok(let ins) = Decoder.decode([0x0F, 0xA2], code16: false) else { Issue.record("decode"); return }
        let cpu = vm.machine.cpu
        cpu.eax = 1
        #expect(try monitor.nonRootInstruction(ins))
        #expect(cpu.ecx & (1 << 31) != 0)
        #expect(monitor.vmcs.exit.basicReason == ExitReason.cpuid.rawValue)
        #expect(monitor.vmcs.exit.instructionLength == 2)
        #expect(vm.log.entries.last?.kind == .vmexit && vm.log.entries.last?.code == 10)
    }
}
