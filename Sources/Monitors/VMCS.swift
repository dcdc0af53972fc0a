import X86

// The virtual-machine control structure of Intel VT-x (SDM Vol. 3C ch. 24,
// field encodings in Appendix B; reference/virtualization.md §4.2-§4.6).  On
// hardware it is a 4 KiB region in an implementation-specific format read
// and written with VMREAD/VMWRITE; here it is a Swift value with the SDM's
// six groups.  The VTxMonitor decides every VM exit from these fields alone,
// as the processor does in VMX non-root operation.
//
// Encodings (App. B): bit 0 access (full/high), bits 9:1 index, bits 11:10
// type (0 control, 1 exit information, 2 guest state, 3 host state), bits
// 14:13 width (0 16-bit, 1 64-bit, 2 32-bit, 3 natural width).

public struct VMCS: Sendable {
    // ---- 1. Guest-state area (saved on VM exit, loaded on VM entry; SDM §24.4) ----
    public struct SegmentField: Sendable, Equatable {
        /// GUEST_ES_SELECTOR 0x0800 … GUEST_TR_SELECTOR 0x080E
        public var selector: UInt16 = 0
        /// GUEST_ES_BASE 0x6806 … GUEST_TR_BASE 0x6814
        public var base: UInt32 = 0
        /// GUEST_ES_LIMIT 0x4800 … GUEST_TR_LIMIT 0x480E
        public var limit: UInt32 = 0
        /// GUEST_ES_AR_BYTES 0x4814 …: type/S/DPL/P in 7:0, AVL/L/D/G in 15:12, bit 16 "unusable".
        public var accessRights: UInt32 = 0
        public init() {}
        init(_ c: SegmentCache) {
            selector = c.selector; base = c.base; limit = c.limit
            accessRights = UInt32(c.access) | UInt32(c.flags) << 12 | (c.usable ? 0 : 1 << 16)
        }
    }
    public struct GuestState: Sendable {
        /// GUEST_CR0 0x6800, GUEST_CR3 0x6802, GUEST_CR4 0x6804: the values the
        /// processor really uses in non-root operation (with shadow paging, CR3
        /// is the shadow page directory; the guest's own CR3 is the monitor's).
        public var cr0: UInt32 = 0, cr3: UInt32 = 0, cr4: UInt32 = 0
        /// GUEST_DR7 0x681A
        public var dr7: UInt32 = 0
        /// GUEST_RSP 0x681C, GUEST_RIP 0x681E, GUEST_RFLAGS 0x6820
        public var esp: UInt32 = 0, eip: UInt32 = 0, eflags: UInt32 = 2
        /// ES, CS, SS, DS, FS, GS (Seg order), then LDTR and TR.
        public var segments = [SegmentField](repeating: SegmentField(), count: 6)
        public var ldtr = SegmentField(), tr = SegmentField()
        /// GUEST_GDTR_BASE 0x6816 / LIMIT 0x4810, GUEST_IDTR_BASE 0x6818 / LIMIT 0x4812
        public var gdtr = TableRegister(), idtr = TableRegister()
        /// GUEST_INTERRUPTIBILITY_INFO 0x4824: bit 0 blocking by STI, bit 1 by MOV SS.
        public var interruptibility: UInt32 = 0
        /// GUEST_ACTIVITY_STATE 0x4826: 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI.
        public var activityState: UInt32 = 0
        /// GUEST_PENDING_DBG_EXCEPTIONS 0x6822
        public var pendingDebugExceptions: UInt32 = 0
        /// VMCS_LINK_POINTER 0x2800 (all ones: no shadow VMCS)
        public var linkPointer: UInt64 = .max
        /// GUEST_SYSENTER_CS 0x482A, _ESP 0x6824, _EIP 0x6826
        public var sysenterCS: UInt32 = 0, sysenterESP: UInt32 = 0, sysenterEIP: UInt32 = 0
        public init() {}

        /// What the processor saves into the guest-state area on a VM exit.
        mutating func save(_ cpu: CPU) {
            cr0 = cpu.cr0; cr3 = cpu.cr3; cr4 = cpu.cr4; dr7 = cpu.dr[7]
            esp = cpu.esp; eip = cpu.eip; eflags = cpu.eflags
            for s in 0..<6 { segments[s] = SegmentField(cpu.segs[s]) }
            ldtr = SegmentField(cpu.ldtr); tr = SegmentField(cpu.tr)
            gdtr = cpu.gdtr; idtr = cpu.idtr
            interruptibility = cpu.interruptShadow ? 1 : 0
            activityState = cpu.halted ? 1 : 0
            sysenterCS = cpu.sysenterCS; sysenterESP = cpu.sysenterESP; sysenterEIP = cpu.sysenterEIP
        }
    }
    public var guest = GuestState()

    // ---- 2. Host-state area (loaded on VM exit; SDM §24.5) ----
    public struct HostState: Sendable {
        /// HOST_CR0 0x6C00, HOST_CR3 0x6C02, HOST_CR4 0x6C04.  The VMM of this
        /// model works on host-physical memory directly, outside any guest
        /// address space: VMX root operation has its own.
        public var cr0: UInt32 = CR0.pe | CR0.et | CR0.ne, cr3: UInt32 = 0, cr4: UInt32 = 0
        /// HOST_RSP 0x6C14, HOST_RIP 0x6C16: where the VMM's exit handler runs.
        public var esp: UInt32 = 0, eip: UInt32 = 0
        /// HOST_ES_SELECTOR 0x0C00 … HOST_TR_SELECTOR 0x0C0C
        public var selectors = [UInt16](repeating: 0, count: 7)
        /// HOST_FS_BASE 0x6C06, HOST_GS_BASE 0x6C08, HOST_TR_BASE 0x6C0A, HOST_GDTR_BASE 0x6C0C, HOST_IDTR_BASE 0x6C0E
        public var fsBase: UInt32 = 0, gsBase: UInt32 = 0, trBase: UInt32 = 0, gdtrBase: UInt32 = 0, idtrBase: UInt32 = 0
        /// HOST_SYSENTER_CS 0x4C00, _ESP 0x6C10, _EIP 0x6C12
        public var sysenterCS: UInt32 = 0, sysenterESP: UInt32 = 0, sysenterEIP: UInt32 = 0
        public init() {}
    }
    public var host = HostState()

    // ---- 3. VM-execution control fields (SDM §24.6) ----

    /// PIN_BASED_VM_EXEC_CONTROL 0x4000 (SDM Table 24-5).
    public struct PinBased: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let externalInterruptExiting = PinBased(rawValue: 1 << 0)
        public static let nmiExiting = PinBased(rawValue: 1 << 3)
        public static let virtualNMIs = PinBased(rawValue: 1 << 5)
        public static let preemptionTimer = PinBased(rawValue: 1 << 6)
        public static let postedInterrupts = PinBased(rawValue: 1 << 7)
    }
    /// CPU_BASED_VM_EXEC_CONTROL 0x4002 (SDM Table 24-6).
    public struct Primary: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let interruptWindowExiting = Primary(rawValue: 1 << 2)
        public static let tscOffsetting = Primary(rawValue: 1 << 3)
        public static let hltExiting = Primary(rawValue: 1 << 7)
        public static let invlpgExiting = Primary(rawValue: 1 << 9)
        public static let mwaitExiting = Primary(rawValue: 1 << 10)
        public static let rdpmcExiting = Primary(rawValue: 1 << 11)
        public static let rdtscExiting = Primary(rawValue: 1 << 12)
        public static let cr3LoadExiting = Primary(rawValue: 1 << 15)
        public static let cr3StoreExiting = Primary(rawValue: 1 << 16)
        public static let cr8LoadExiting = Primary(rawValue: 1 << 19)
        public static let cr8StoreExiting = Primary(rawValue: 1 << 20)
        public static let useTPRShadow = Primary(rawValue: 1 << 21)
        public static let nmiWindowExiting = Primary(rawValue: 1 << 22)
        public static let movDRExiting = Primary(rawValue: 1 << 23)
        public static let unconditionalIOExiting = Primary(rawValue: 1 << 24)
        public static let useIOBitmaps = Primary(rawValue: 1 << 25)
        public static let monitorTrapFlag = Primary(rawValue: 1 << 27)
        public static let useMSRBitmaps = Primary(rawValue: 1 << 28)
        public static let monitorExiting = Primary(rawValue: 1 << 29)
        public static let pauseExiting = Primary(rawValue: 1 << 30)
        public static let activateSecondaryControls = Primary(rawValue: 1 << 31)
    }
    /// SECONDARY_VM_EXEC_CONTROL 0x401E (SDM Table 24-7).
    public struct Secondary: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let virtualizeAPICAccesses = Secondary(rawValue: 1 << 0)
        public static let enableEPT = Secondary(rawValue: 1 << 1)
        public static let descriptorTableExiting = Secondary(rawValue: 1 << 2)
        public static let enableRDTSCP = Secondary(rawValue: 1 << 3)
        public static let enableVPID = Secondary(rawValue: 1 << 5)
        public static let wbinvdExiting = Secondary(rawValue: 1 << 6)
        public static let unrestrictedGuest = Secondary(rawValue: 1 << 7)
    }
    public var pinBased: PinBased = []
    public var primary: Primary = []
    /// Effective only when `primary` has .activateSecondaryControls (SDM §24.6.2).
    public var secondaryControls: Secondary = []
    public var secondary: Secondary { primary.contains(.activateSecondaryControls) ? secondaryControls : [] }

    /// EXCEPTION_BITMAP 0x4004: bit v = 1 makes exception vector v exit (SDM §24.6.3).
    public var exceptionBitmap: UInt32 = 0
    /// PAGE_FAULT_ERROR_CODE_MASK 0x4006 / _MATCH 0x4008.
    public var pageFaultErrorCodeMask: UInt32 = 0
    public var pageFaultErrorCodeMatch: UInt32 = 0
    /// IO_BITMAP_A 0x2000 (ports 0x0000-0x7FFF), IO_BITMAP_B 0x2002 (0x8000-0xFFFF): 4 KiB each, a bit per port.
    public var ioBitmapA = [UInt8](repeating: 0, count: 4096)
    public var ioBitmapB = [UInt8](repeating: 0, count: 4096)
    /// MSR_BITMAP 0x2004: read-low at 0, read-high at 1024, write-low at 2048, write-high at 3072.
    public var msrBitmap = [UInt8](repeating: 0, count: 4096)
    /// TSC_OFFSET 0x2010
    public var tscOffset: UInt64 = 0
    /// CR0_GUEST_HOST_MASK 0x6000, CR4_GUEST_HOST_MASK 0x6002: bits owned by the host.
    public var cr0GuestHostMask: UInt32 = 0
    public var cr4GuestHostMask: UInt32 = 0
    /// CR0_READ_SHADOW 0x6004, CR4_READ_SHADOW 0x6006: what the guest reads for owned bits.
    public var cr0ReadShadow: UInt32 = 0
    public var cr4ReadShadow: UInt32 = 0
    /// CR3_TARGET_COUNT 0x400A and CR3_TARGET_VALUE0..3 0x6008-0x600E.
    public var cr3TargetCount: Int = 0
    public var cr3TargetValues: [UInt32] = [0, 0, 0, 0]
    /// EPT_POINTER 0x201A: memory type 2:0, walk length - 1 in 5:3, PML4 address 51:12.
    public var eptPointer: UInt64 = 0
    /// VIRTUAL_PROCESSOR_ID 0x0000
    public var vpid: UInt16 = 0

    // ---- 4. VM-exit control fields (SDM §24.7) ----
    /// VM_EXIT_CONTROLS 0x400C: bit 9 host address-space size, bit 15 acknowledge interrupt on exit.
    public var exitControls: UInt32 = 1 << 15
    public static let acknowledgeInterruptOnExit: UInt32 = 1 << 15

    // ---- 5. VM-entry control fields (SDM §24.8) ----
    /// VM_ENTRY_CONTROLS 0x4012: bit 9 IA-32e mode guest (0 here).
    public var entryControls: UInt32 = 0
    /// VM_ENTRY_INTR_INFO_FIELD 0x4016 (interruption-information format), _EXCEPTION_ERROR_CODE 0x4018,
    /// VM_ENTRY_INSTRUCTION_LEN 0x401A: the event to inject at the next VM entry.
    public var entryInterruptionInfo: UInt32 = 0
    public var entryExceptionErrorCode: UInt32 = 0
    public var entryInstructionLength: UInt32 = 0

    // ---- 6. VM-exit information fields (read-only to the VMM; SDM §24.9) ----
    public struct ExitInformation: Sendable, Equatable {
        /// VM_EXIT_REASON 0x4402: basic reason in 15:0, bit 31 VM-entry failure.
        public var reason: UInt32 = 0
        /// EXIT_QUALIFICATION 0x6400
        public var qualification: UInt32 = 0
        /// GUEST_LINEAR_ADDRESS 0x640A
        public var guestLinearAddress: UInt32 = 0
        /// GUEST_PHYSICAL_ADDRESS 0x2400 (EPT violations)
        public var guestPhysicalAddress: UInt64 = 0
        /// VM_EXIT_INTR_INFO 0x4404, VM_EXIT_INTR_ERROR_CODE 0x4406
        public var interruptionInfo: UInt32 = 0
        public var interruptionErrorCode: UInt32 = 0
        /// IDT_VECTORING_INFO_FIELD 0x4408, IDT_VECTORING_ERROR_CODE 0x440A
        public var idtVectoringInfo: UInt32 = 0
        /// VM_EXIT_INSTRUCTION_LEN 0x440C, VMX_INSTRUCTION_INFO 0x440E
        public var instructionLength: UInt32 = 0
        public var instructionInformation: UInt32 = 0
        /// VM_INSTRUCTION_ERROR 0x4400
        public var instructionError: UInt32 = 0
        public init() {}
        public var basicReason: UInt16 { UInt16(truncatingIfNeeded: reason) }
    }
    public var exit = ExitInformation()

    public init() {}

    // ---- The processor's decisions (SDM §25.1.3, reference §4.5) ----

    /// Does IN/OUT/INS/OUTS of `size` bytes at `port` exit?  Without I/O
    /// bitmaps, only if unconditional I/O exiting is set; with them, if any
    /// accessed byte's bit is set, or the access wraps past 0xFFFF.
    public func ioExits(port: UInt16, size: Int) -> Bool {
        guard primary.contains(.useIOBitmaps) else { return primary.contains(.unconditionalIOExiting) }
        if Int(port) + size > 0x10000 { return true }
        for k in 0..<size {
            let p = Int(port) + k
            let map = p < 0x8000 ? ioBitmapA : ioBitmapB
            let bit = p & 0x7FFF
            if map[bit >> 3] & (1 << (bit & 7)) != 0 { return true }
        }
        return false
    }

    /// Does RDMSR (write = false) or WRMSR of `msr` exit?
    public func msrExits(_ msr: UInt32, write: Bool) -> Bool {
        guard primary.contains(.useMSRBitmaps) else { return true }
        let base: Int
        switch msr {
        case 0...0x1FFF: base = write ? 2048 : 0
        case 0xC000_0000...0xC000_1FFF: base = write ? 3072 : 1024
        default: return true
        }
        let bit = Int(msr & 0x1FFF)
        return msrBitmap[base + bit >> 3] & (1 << (bit & 7)) != 0
    }
    /// Sets or clears the exit bit of `msr` for reads and writes.
    public mutating func setMSRExiting(_ msr: UInt32, _ exits: Bool) {
        let bit = Int(msr & 0x1FFF)
        let high = msr >= 0xC000_0000
        for base in high ? [1024, 3072] : [0, 2048] {
            if exits { msrBitmap[base + bit >> 3] |= 1 << (bit & 7) } else { msrBitmap[base + bit >> 3] &= ~(1 << (bit & 7)) }
        }
    }
    public mutating func setIOExiting(_ port: UInt16, _ exits: Bool) {
        let bit = Int(port & 0x7FFF)
        if port < 0x8000 {
            if exits { ioBitmapA[bit >> 3] |= 1 << (bit & 7) } else { ioBitmapA[bit >> 3] &= ~(1 << (bit & 7)) }
        } else {
            if exits { ioBitmapB[bit >> 3] |= 1 << (bit & 7) } else { ioBitmapB[bit >> 3] &= ~(1 << (bit & 7)) }
        }
    }

    /// Does exception `vector` exit?  The exception bitmap decides, except
    /// for #PF: exit iff ((PFEC & mask) == match) equals bitmap bit 14.
    public func exceptionExits(_ vector: UInt8, errorCode: UInt32?) -> Bool {
        let bit = exceptionBitmap & (1 << UInt32(vector & 31)) != 0
        guard vector == Vector.pf else { return bit }
        let matches = (errorCode ?? 0) & pageFaultErrorCodeMask == pageFaultErrorCodeMatch
        return matches == bit
    }

    /// MOV to CR0 exits unless every host-owned bit of the source equals the read shadow.
    public func cr0WriteExits(_ v: UInt32) -> Bool { (v ^ cr0ReadShadow) & cr0GuestHostMask != 0 }
    public func cr4WriteExits(_ v: UInt32) -> Bool { (v ^ cr4ReadShadow) & cr4GuestHostMask != 0 }
    /// MOV to CR3 exits if CR3-load exiting is set, unless the value is one of the first n targets.
    public func cr3LoadExits(_ v: UInt32) -> Bool {
        guard primary.contains(.cr3LoadExiting) else { return false }
        return !cr3TargetValues.prefix(max(0, min(cr3TargetCount, 4))).contains(v)
    }
    /// What MOV from CR0 (and SMSW) returns in non-root operation: the read
    /// shadow for host-owned bits, the real register for the others.
    public func guestView(cr0 real: UInt32) -> UInt32 { (real & ~cr0GuestHostMask) | (cr0ReadShadow & cr0GuestHostMask) }
    public func guestView(cr4 real: UInt32) -> UInt32 { (real & ~cr4GuestHostMask) | (cr4ReadShadow & cr4GuestHostMask) }
    /// The real register after a non-exiting MOV to CR0/CR4: guest-owned bits from the source.
    public func realAfterWrite(cr0 real: UInt32, _ v: UInt32) -> UInt32 { (real & cr0GuestHostMask) | (v & ~cr0GuestHostMask) }
    public func realAfterWrite(cr4 real: UInt32, _ v: UInt32) -> UInt32 { (real & cr4GuestHostMask) | (v & ~cr4GuestHostMask) }
}

/// Basic exit reasons (SDM Vol. 3C Appendix C).
public enum ExitReason: UInt16, Sendable, CaseIterable {
    case exceptionOrNMI = 0, externalInterrupt = 1, tripleFault = 2, initSignal = 3, sipi = 4
    case interruptWindow = 7, nmiWindow = 8, taskSwitch = 9, cpuid = 10, getsec = 11, hlt = 12, invd = 13
    case invlpg = 14, rdpmc = 15, rdtsc = 16, rsm = 17, vmcall = 18
    case vmclear = 19, vmlaunch = 20, vmptrld = 21, vmptrst = 22, vmread = 23, vmresume = 24, vmwrite = 25
    case vmxoff = 26, vmxon = 27
    case crAccess = 28, drAccess = 29, ioInstruction = 30, rdmsr = 31, wrmsr = 32
    case invalidGuestState = 33, msrLoading = 34, mwait = 36, monitorTrapFlag = 37, monitor = 39, pause = 40
    case machineCheck = 41, tprBelowThreshold = 43, apicAccess = 44, virtualizedEOI = 45
    case gdtrIdtrAccess = 46, ldtrTrAccess = 47, eptViolation = 48, eptMisconfiguration = 49
    case invept = 50, rdtscp = 51, preemptionTimer = 52, invvpid = 53, wbinvd = 54, xsetbv = 55

    /// The name Linux's vmx.h and the SDM use, for the trap log and `info vmcs`.
    public var name: String {
        switch self {
        case .exceptionOrNMI: return "EXCEPTION_NMI"
        case .externalInterrupt: return "EXTERNAL_INTERRUPT"
        case .tripleFault: return "TRIPLE_FAULT"
        case .interruptWindow: return "INTERRUPT_WINDOW"
        case .cpuid: return "CPUID"
        case .hlt: return "HLT"
        case .invd: return "INVD"
        case .invlpg: return "INVLPG"
        case .rdtsc: return "RDTSC"
        case .vmcall: return "VMCALL"
        case .crAccess: return "CR_ACCESS"
        case .drAccess: return "DR_ACCESS"
        case .ioInstruction: return "IO_INSTRUCTION"
        case .rdmsr: return "MSR_READ"
        case .wrmsr: return "MSR_WRITE"
        case .gdtrIdtrAccess: return "GDTR_IDTR"
        case .ldtrTrAccess: return "LDTR_TR"
        case .eptViolation: return "EPT_VIOLATION"
        case .wbinvd: return "WBINVD"
        default: return String(describing: self).uppercased()
        }
    }
}

/// Exit-qualification and information-field formats (SDM §27.2.1, reference §4.6).
public enum ExitQualification {
    /// Control-register access (reason 28): CR number 3:0, access type 5:4
    /// (0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW), LMSW operand type 6,
    /// GPR 11:8, LMSW source data 31:16.
    public static func crAccess(cr: Int, type: Int, gpr: Int = 0, lmswMemory: Bool = false, lmswSource: UInt16 = 0) -> UInt32 {
        UInt32(cr & 0xF) | UInt32(type & 3) << 4 | (lmswMemory ? 1 << 6 : 0) | UInt32(gpr & 0xF) << 8 | UInt32(lmswSource) << 16
    }
    /// I/O instruction (reason 30): size - 1 in 2:0, direction 3 (1 = IN),
    /// string 4, REP 5, operand encoding 6 (1 = immediate), port 31:16.
    public static func io(size: Int, input: Bool, string: Bool, rep: Bool, immediate: Bool, port: UInt16) -> UInt32 {
        UInt32(size - 1) & 7 | (input ? 1 << 3 : 0) | (string ? 1 << 4 : 0) | (rep ? 1 << 5 : 0)
            | (immediate ? 1 << 6 : 0) | UInt32(port) << 16
    }
    /// Interruption-information format: vector 7:0, type 10:8 (0 external
    /// interrupt, 2 NMI, 3 hardware exception, 4 software interrupt, 6
    /// software exception), error code valid 11, valid 31.
    public static func interruptionInfo(vector: UInt8, type: UInt32, errorCode: Bool) -> UInt32 {
        UInt32(vector) | (type & 7) << 8 | (errorCode ? 1 << 11 : 0) | 1 << 31
    }
    /// Instruction information for LGDT/LIDT/SGDT/SIDT (reason 46) and
    /// LLDT/LTR/SLDT/STR (reason 47): scaling 1:0, address size 9:7, operand
    /// size 11, segment 17:15, index 21:18 (+ invalid 22), base 26:23 (+ invalid 27),
    /// instruction identity 29:28 (46: SGDT 0, SIDT 1, LGDT 2, LIDT 3;
    /// 47: SLDT 0, STR 1, LLDT 2, LTR 3).  For a register operand, reg1 in 6:3 and bit 10 set.
    public static func descriptorTable(_ ins: Instr, identity: Int) -> UInt32 {
        var v = UInt32(ins.scale & 3) | (ins.asize16 ? 0 : 1) << 7 | (ins.osize == 4 ? 1 : 0) << 11
        v |= UInt32(ins.seg & 7) << 15 | UInt32(identity & 3) << 28
        if ins.mod == 3 { v |= UInt32(ins.rm & 7) << 3 | 1 << 10; return v }
        v |= ins.index == Instr.noRegister ? 1 << 22 : UInt32(ins.index & 7) << 18
        v |= ins.base == Instr.noRegister ? 1 << 27 : UInt32(ins.base & 7) << 23
        return v
    }
}
