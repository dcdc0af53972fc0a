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
}
