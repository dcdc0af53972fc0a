import X86

// The hypercalls (docs/pv-abi.md).  Each one is answered here, at the
// `int 0x82` the CPU's instruction intercept caught, and logged as a
// `hypercall` event with its number, arguments and result.  Arguments that
// point into the guest are guest-linear addresses, read through the guest's
// own page tables and only inside its RAM; nothing a guest passes ever makes
// the monitor touch a frame outside guest-physical memory: bad arguments get
// an error in EAX, never access.

extension PVMonitor {
    typealias Answer = (result: Int32, outcome: String)

    func hypercall(at eip: UInt32) {
        let n = cpu.eax
        let args = [cpu.ebx, cpu.ecx, cpu.edx, cpu.esi, cpu.edi]
        let name = PVABI.names[n] ?? "hypercall \(n)"
        var answer: Answer
        switch n {
        case PVABI.consoleIO: answer = consoleIO(args)
        case PVABI.setTrapTable: answer = setTrapTable(args[0])
        case PVABI.stackSwitch: answer = stackSwitch(args)
        case PVABI.mmuUpdate: answer = mmuUpdate(args)
        case PVABI.updateVAMapping: answer = updateVAMapping(args)
        case PVABI.mmuextOp: answer = mmuextOp(args)
        case PVABI.vcpuOp: answer = vcpuOp(args)
        case PVABI.xenVersion: answer = args[0] == 0 ? (0x0003_0000, "Xen interface 3.0") : (-PVABI.ENOSYS, "unknown xen_version command")
        case PVABI.schedOp, PVABI.schedOpCompat: answer = schedOp(args)
        case PVABI.portIO: answer = portIO(args)
        case PVABI.iret:
            answer = iret()
            if answer.result == 0 {
                log(.hypercall, code: n, detail: 0, eip: eip, text: "int 0x82 (\(name))", outcome: answer.outcome,
                    cycles: vm.cost.hypercall)
                return   // EAX is the guest's, restored from the frame
            }
        default: answer = (-PVABI.ENOSYS, "no such hypercall")
        }
        cpu.eax = UInt32(bitPattern: answer.result)
        // The guest's context always runs with the real IF set (Xen's rule):
        // the virtual one is the event mask.
        cpu.setEFLAGS(cpu.eflags | EFLAGS.if)
        let argText = args.prefix(argumentCount(n)).map { hex($0) }.joined(separator: ", ")
        log(.hypercall, code: n, detail: UInt32(bitPattern: answer.result), eip: eip, text: "int 0x82 (\(name))",
            outcome: "\(name)(\(argText)) = \(answer.result): \(answer.outcome)", cycles: vm.cost.hypercall)
    }

    private func argumentCount(_ n: UInt32) -> Int {
        switch n {
        case PVABI.setTrapTable, PVABI.xenVersion: return 1
        case PVABI.stackSwitch, PVABI.schedOp, PVABI.schedOpCompat: return 3
        case PVABI.iret: return 0
        case PVABI.consoleIO, PVABI.updateVAMapping, PVABI.vcpuOp, PVABI.portIO: return 3
        default: return 4
        }
    }

    // ---- Guest pointers ----

    /// Reads guest-linear memory for a hypercall argument; nil (-EFAULT) when
    /// any byte is unmapped in the guest's tables, outside its RAM or in the monitor window.
    func copyFromGuest(_ lin: UInt32, _ n: Int) -> [UInt8]? {
        guard n >= 0, UInt64(lin) + UInt64(n) <= UInt64(MonitorLayout.segmentCeiling) + 1 else { return nil }
        return n == 0 ? [] : mem.readLinear(lin, n, vcpu: state)
    }
    func read32(_ lin: UInt32) -> UInt32? {
        guard let b = copyFromGuest(lin, 4) else { return nil }
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }
    func write32(_ lin: UInt32, _ v: UInt32) -> Bool {
        guard UInt64(lin) + 4 <= UInt64(MonitorLayout.segmentCeiling) + 1 else { return false }
        return mem.writeLinear(lin, [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)], vcpu: state)
    }

    // ---- console_io, port_io ----

    func consoleIO(_ a: [UInt32]) -> Answer {
        guard a[0] == 0 else { return (-PVABI.ENOSYS, "only CONSOLEIO_write (0) is implemented") }
        guard a[1] <= 4096 else { return (-PVABI.EINVAL, "count above 4096") }
        guard let bytes = copyFromGuest(a[2], Int(a[1])) else { return (-PVABI.EFAULT, "buffer not readable in guest memory") }
        for b in bytes { vm.machine.portOut(0x3F8, size: 1, value: UInt32(b)) }
        return (Int32(bytes.count), "\(bytes.count) byte\(bytes.count == 1 ? "" : "s") written to COM1")
    }

    func portIO(_ a: [UInt32]) -> Answer {
        guard a[0] <= 0xFFFF, PVABI.portAllowed(UInt16(a[0])) else { return (-PVABI.EPERM, "port \(hex(a[0], digits: 4)) is not on the whitelist") }
        let port = UInt16(a[0])
        switch a[1] {
        case 0:
            let v = vm.machine.portIn(port, size: 1)
            return (Int32(v & 0xFF), "in from \(hex(port, digits: 4))")
        case 1:
            vm.machine.portOut(port, size: 1, value: a[2] & 0xFF)
            return (0, "out \(hex(a[2] & 0xFF, digits: 2)) to \(hex(port, digits: 4))")
        default:
            return (-PVABI.EINVAL, "direction must be 0 (in) or 1 (out)")
        }
    }

    // ---- Traps, stacks, events ----

    /// set_trap_table: trap_info_t {u8 vector; u8 flags; u16 cs; u32 address}, ended by address 0.
    func setTrapTable(_ table: UInt32) -> Answer {
        if table == 0 {
            for v in 0..<256 where v != PVABI.hypercallVector { trapFlags[v] = nil; tables.setGate(v, nil) }
            return (0, "trap table cleared")
        }
        var count = 0
        for i in 0..<257 {
            guard let e = copyFromGuest(table &+ UInt32(i * 8), 8) else { return (-PVABI.EFAULT, "entry \(i) not readable") }
            let address = UInt32(e[4]) | UInt32(e[5]) << 8 | UInt32(e[6]) << 16 | UInt32(e[7]) << 24
            if address == 0 { return (0, "\(count) trap handler\(count == 1 ? "" : "s") registered") }
            guard i < 256 else { break }
            let vector = Int(e[0]), flags = e[1], cs = UInt16(e[2]) | UInt16(e[3]) << 8
            guard vector != PVABI.hypercallVector else { return (-PVABI.EPERM, "vector 0x82 is the hypervisor's") }
            guard cs & 0xFFFC == PVABI.ring1CS & 0xFFFC, cs & 3 <= 1 else { return (-PVABI.EINVAL, "entry \(i): cs \(hex(cs, digits: 4)) is not FLAT_RING1_CS") }
            guard address <= MonitorLayout.segmentCeiling, flags & ~7 == 0 else { return (-PVABI.EINVAL, "entry \(i): bad address or flags") }
            trapFlags[vector] = flags
            tables.writeEntry(MonitorLayout.idt, vector, Self.gate(offset: address, selector: PVABI.ring1CS, dpl: max(flags & 3, 1)))
            count += 1
        }
        return (-PVABI.EINVAL, "more than 256 entries")
    }

    /// stack_switch(ss, esp): the ring-1 stack of the monitor's TSS (the guest's "TSS.ESP0").
    func stackSwitch(_ a: [UInt32]) -> Answer {
        guard a[0] & 0xFFFC == UInt32(PVABI.ring1DS & 0xFFFC) else { return (-PVABI.EINVAL, "ss must be FLAT_RING1_SS") }
        cpu.writePhysical(MonitorLayout.tss &+ 12, 4, a[1])
        cpu.writePhysical(MonitorLayout.tss &+ 16, 4, UInt32(PVABI.ring1DS))
        return (0, "kernel stack \(hex(PVABI.ring1DS, digits: 4)):\(hex(a[1]))")
    }

    /// vcpu_op(VCPUOP_register_vcpu_info = 10, vcpu 0, gpa): where the event mask, pending flag and CR2 live.
    func vcpuOp(_ a: [UInt32]) -> Answer {
        guard a[0] == 10 else { return (-PVABI.ENOSYS, "only VCPUOP_register_vcpu_info (10)") }
        guard a[1] == 0 else { return (-PVABI.ENOENT, "there is one vCPU, number 0") }
        guard vcpuInfo == nil else { return (-PVABI.EINVAL, "vcpu_info already registered") }
        let gpa = a[2]
        guard gpa & 3 == 0, UInt64(gpa) + UInt64(PVABI.vcpuInfoSize) <= UInt64(mem.size),
              gpa >> 12 == (gpa + PVABI.vcpuInfoSize - 1) >> 12 else {
            return (-PVABI.EINVAL, "vcpu_info must be 4-aligned, in guest RAM, within one page")
        }
        let mask = bootMask
        for k in 0..<PVABI.vcpuInfoSize { writeByte(gpa + k, 0) }
        vcpuInfo = gpa
        writeByte(gpa + PVABI.maskOffset, mask)
        return (0, "vcpu_info at gpa \(hex(gpa)); event mask \(mask)")
    }

    /// sched_op(cmd, arg, code): yield, block (unmask events and wait for one), shutdown.
    func schedOp(_ a: [UInt32]) -> Answer {
        switch a[0] {
        case 0: return (0, "yield: nothing else to run")
        case 1:
            eventMask = false
            cpu.halted = true
            return (0, "block: events unmasked, waiting for one")
        case 2:
            guard a[1] <= 3 else { return (-PVABI.EINVAL, "unknown shutdown reason") }
            vm.machine.portOut(0xF4, size: 1, value: a[2] & 0xFF)
            let why = ["poweroff", "reboot", "suspend", "crash"][Int(a[1])]
            return (0, "shutdown (\(why)), exit code \(hex(a[2] & 0xFF, digits: 2)) -> status \((a[2] & 0xFF) << 1 | 1)")
        default: return (-PVABI.EINVAL, "unknown sched_op command")
        }
    }

    /// iret: [ESP] = EAX, EIP, CS, EFLAGS (and ESP, SS to ring 3), as Xen's compat_iret.
    func iret() -> Answer {
        let sp = cpu.segs[Seg.ss].base &+ cpu.esp
        var f: [UInt32] = []
        for k in 0..<4 { guard let v = read32(sp &+ UInt32(4 * k)) else { return (-PVABI.EFAULT, "frame not readable") }; f.append(v) }
        let cs = UInt16(truncatingIfNeeded: f[2]), rpl = UInt8(cs & 3)
        guard rpl != 0 else { return (-PVABI.EPERM, "a return to ring 0 (Xen crashes the domain)") }
        guard let cd = try? cpu.descriptor(cs), cd.isCode, cd.dpl == rpl, cs & 4 == 0 else {
            return (-PVABI.EINVAL, "cs \(hex(cs, digits: 4)) is not a flat code selector")
        }
        var esp = cpu.esp &+ 16, ss = cpu.segs[Seg.ss].selector
        if rpl != 1 {
            guard let e = read32(sp &+ 16), let s = read32(sp &+ 20) else { return (-PVABI.EFAULT, "frame not readable") }
            esp = e; ss = UInt16(truncatingIfNeeded: s)
            guard let sdd = try? cpu.descriptor(ss), sdd.isData, sdd.writable, sdd.dpl == rpl, ss & 3 == rpl else {
                return (-PVABI.EINVAL, "ss \(hex(ss, digits: 4)) is not a ring-\(rpl) stack")
            }
        }
        // Committed: registers, then segments (CPL first, so the SS check sees it).
        cpu.eax = f[0]
        cpu.nextEIP = f[1]
        let oldCPL = cpu.cpl
        var c = cd.cache
        c.selector = cs
        c.access |= 1
        cpu.cpl = rpl
        cpu.segs[Seg.cs] = c
        if rpl != oldCPL || rpl != 1 { try? cpu.loadSegment(Seg.ss, selector: ss) }
        cpu.esp = esp
        if rpl > oldCPL {
            // As IRET to an outer level: data segments the new CPL may not use become null.
            for s in [Seg.es, Seg.ds, Seg.fs, Seg.gs] {
                let seg = cpu.segs[s]
                if seg.usable && seg.dpl < rpl && !(seg.isCode && seg.access & 4 != 0) { try? cpu.loadSegment(s, selector: 0) }
            }
        }
        let wantIF = f[3] & EFLAGS.if != 0
        let keep: UInt32 = 0x0025_0DD5   // CF PF AF ZF SF TF DF OF RF AC ID
        cpu.setEFLAGS((f[3] & keep) | 0x2 | EFLAGS.if)
        eventMask = !wantIF
        return (0, "returned to \(hex(cs, digits: 4)):\(hex(f[1])) ring \(rpl); event mask \(wantIF ? 0 : 1) from EFLAGS.IF")
    }
}
