// String instructions (SDM MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS) with
// REP/REPE/REPNE.  The source is seg:eSI (DS unless overridden), the
// destination always ES:eDI; the index registers step by the operand size,
// down when DF = 1.  The address size picks SI/DI/CX or ESI/EDI/ECX.  Each
// iteration updates the registers, so a fault mid-string restarts cleanly.

extension CPU {
    func stringOp(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let asize: UInt8 = i.asize16 ? 2 : 4
        let step = df ? 0 &- UInt32(size) : UInt32(size)
        let srcSeg = Int(i.seg)
        let repeated = i.rep != 0
        if i.op == .ins || i.op == .outs { try checkIOPermission(UInt16(truncatingIfNeeded: regs[Reg.edx]), Int(size)) }
        if repeated && (i.op == .movs || i.op == .stos) && !df && !i.asize16 { repeatInPages(i) }
        while true {
            if repeated && reg(Reg.ecx, size: asize) == 0 { return }
            let si = reg(Reg.esi, size: asize), di = reg(Reg.edi, size: asize)
            switch i.op {
            case .movs:
                let v = try read(srcSeg, si, size)
                try write(Seg.es, di, size, v)
                setReg(Reg.esi, size: asize, si &+ step); setReg(Reg.edi, size: asize, di &+ step)
            case .stos:
                try write(Seg.es, di, size, reg(Reg.eax, size: size))
                setReg(Reg.edi, size: asize, di &+ step)
            case .lods:
                setReg(Reg.eax, size: size, try read(srcSeg, si, size))
                setReg(Reg.esi, size: asize, si &+ step)
            case .cmps:
                let a = try read(srcSeg, si, size), b = try read(Seg.es, di, size)
                _ = alu(.cmp, a, b, size)
                setReg(Reg.esi, size: asize, si &+ step); setReg(Reg.edi, size: asize, di &+ step)
            case .scas:
                let b = try read(Seg.es, di, size)
                _ = alu(.cmp, reg(Reg.eax, size: size), b, size)
                setReg(Reg.edi, size: asize, di &+ step)
            case .ins:
                // The destination is checked before the port is read (SDM INS).
                _ = try linear(Seg.es, di, UInt32(size), write: true)
                let v = portIn(UInt16(truncatingIfNeeded: regs[Reg.edx]), Int(size))
                try write(Seg.es, di, size, v)
                setReg(Reg.edi, size: asize, di &+ step)
            default: // .outs
                let v = try read(srcSeg, si, size)
                portOut(UInt16(truncatingIfNeeded: regs[Reg.edx]), Int(size), v)
                setReg(Reg.esi, size: asize, si &+ step)
            }
            guard repeated else { return }
            let left = (reg(Reg.ecx, size: asize) &- 1) & sizeMask(asize)
            setReg(Reg.ecx, size: asize, left)
            if left == 0 { return }
            // REPE/REPNE end on the ZF condition for CMPS and SCAS only.
            if i.op == .cmps || i.op == .scas {
                if i.rep == 0xF3 && !zf { return }
                if i.rep == 0xF2 && zf { return }
            }
        }
    }

    /// REP MOVS and REP STOS, forwards with ESI/EDI/ECX, a page at a time:
    /// as many iterations as stay within one page of the destination (and of
    /// the source) and within the segment limits run as a loop over host
    /// memory, then the registers are updated once.  Whatever cannot go this
    /// way — a TLB miss, a page that holds code or is not RAM, an element
    /// that straddles a page, a limit — is left to the iteration-by-iteration
    /// loop of `stringOp`, which faults exactly.  Elements are copied in
    /// increasing address order, so overlapping MOVS behaves as the iterations
    /// would.
    private func repeatInPages(_ i: Instr) {
        let size = UInt32(i.osize)
        while regs[Reg.ecx] != 0 {
            let di = regs[Reg.edi], si = regs[Reg.esi]
            let es = segs[Seg.es]
            let dst = es.base &+ di
            var n = min(regs[Reg.ecx], (0x1000 - (dst & 0xFFF)) / size)
            var src: UInt32 = 0
            if i.op == .movs {
                src = segs[Int(i.seg)].base &+ si
                n = min(n, (0x1000 - (src & 0xFFF)) / size)
            }
            guard n != 0 else { return }
            let bytes = n * size
            // The segment checks of all n iterations at once (CPU.swift, `readEnd`/`writeEnd`).
            guard UInt64(di) + UInt64(bytes - 1) < es.writeEnd, let d = hostWrite(dst, bytes) else { return }
            if i.op == .movs {
                guard UInt64(si) + UInt64(bytes - 1) < segs[Int(i.seg)].readEnd, let s = hostRead(src, bytes) else { return }
                if d + Int(bytes) <= s || s + Int(bytes) <= d {
                    d.copyMemory(from: s, byteCount: Int(bytes))
                } else {
                    // Overlapping: each element is read whole, then written, as one iteration does.
                    for k in stride(from: 0, to: Int(bytes), by: Int(size)) {
                        switch size {
                        case 4: d.storeBytes(of: s.loadUnaligned(fromByteOffset: k, as: UInt32.self), toByteOffset: k, as: UInt32.self)
                        case 2: d.storeBytes(of: s.loadUnaligned(fromByteOffset: k, as: UInt16.self), toByteOffset: k, as: UInt16.self)
                        default: d.storeBytes(of: s.load(fromByteOffset: k, as: UInt8.self), toByteOffset: k, as: UInt8.self)
                        }
                    }
                }
                regs[Reg.esi] = si &+ bytes
            } else {
                let v = regs[Reg.eax]
                // Guest RAM is bound to UInt8 and EDI need not be aligned: byte fill, or unaligned stores.
                switch size {
                case 4: for k in 0..<Int(n) { d.storeBytes(of: v, toByteOffset: 4 * k, as: UInt32.self) }
                case 2: for k in 0..<Int(n) { d.storeBytes(of: UInt16(truncatingIfNeeded: v), toByteOffset: 2 * k, as: UInt16.self) }
                default: d.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: v), count: Int(n))
                }
            }
            regs[Reg.edi] = di &+ bytes
            regs[Reg.ecx] &-= n
        }
    }
}
