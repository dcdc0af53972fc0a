// Near control transfers (SDM JMP, Jcc, CALL, RET, LOOP/LOOPcc, JECXZ).
// The target must lie within the code segment's limit, else #GP(0); with a
// 16-bit operand size EIP's upper half is cleared.

extension CPU {
    @inline(__always) func jumpNear(_ target: UInt32, _ size: UInt8) throws(CPUException) {
        let t = size == 2 ? target & 0xFFFF : target
        if _slowPath(t > segs[Seg.cs].limit) { throw .gp(0) }
        nextEIP = t
    }

    func nearControl(_ i: Instr) throws(CPUException) {
        let size = i.osize
        switch i.op {
        case .jmp: try jumpNear(nextEIP &+ i.imm, size)
        case .jcc: if condition(i.cond) { try jumpNear(nextEIP &+ i.imm, size) }
        case .jmpIndirect: try jumpNear(try readRM(i, size), size)
        case .call:
            let target = nextEIP &+ i.imm
            if size == 2 ? target & 0xFFFF > segs[Seg.cs].limit : target > segs[Seg.cs].limit { throw .gp(0) }
            try push(nextEIP, size)
            try jumpNear(target, size)
        case .callIndirect:
            let target = try readRM(i, size)
            if (size == 2 ? target & 0xFFFF : target) > segs[Seg.cs].limit { throw .gp(0) }
            try push(nextEIP, size)
            try jumpNear(target, size)
        case .ret:
            let target = try peek(size, at: 0)
            try jumpNear(target, size)
            adjustSP(Int32(size) + (i.dst == .imm ? Int32(i.imm & 0xFFFF) : 0))
        default:
            // LOOP family and JECXZ count in CX or ECX by the address size (SDM LOOP/LOOPcc).
            let asize: UInt8 = i.asize16 ? 2 : 4
            // The counter is written after the jump's limit check, so a #GP leaves it as it was.
            var count = reg(Reg.ecx, size: asize)
            var taken: Bool
            if i.op == .jecxz {
                taken = count == 0
            } else {
                count = (count &- 1) & sizeMask(asize)
                taken = count != 0
                if i.op == .loope { taken = taken && zf }
                if i.op == .loopne { taken = taken && !zf }
            }
            if taken { try jumpNear(nextEIP &+ i.imm, size) }
            if i.op != .jecxz { setReg(Reg.ecx, size: asize, count) }
        }
    }
}
