// The rows of the opcode table (Intel SDM Vol. 2, Appendix A, Tables A-2,
// 32-bit protected mode only; x87, MMX and SSE are absent
// (their escapes are listed so they fault the way a CPU without them does).

private func r(_ map: UInt8, _ opcode: UInt8, _ digit: Int8, _ mnemonic: String, _ operands: [Opd],
               _ op: Op, _ traits: Traits = [], mod: ModForm = .any, rm: Int8 = -1, prefix: UInt8 = 0) -> OpcodeRow {
    OpcodeRow(map: map, opcode: opcode, digit: digit, rmExact: rm, modForm: mod, prefix: prefix,
              mnemonic: mnemonic, operands: operands, op: op, traits: traits)
}

/// Condition-code suffixes in opcode order (SDM Vol. 2 Appendix B.1.4.7), NASM spelling.
public let conditionNames = ["o", "no", "c", "nc", "z", "nz", "na", "a", "s", "ns", "pe", "po", "l", "nl", "ng", "g"]

private let jump: Traits = [.endsBlock]
private let lockable: Traits = [.lockable]

public let opcodeRows: [OpcodeRow] = {
    var t: [OpcodeRow] = []
    // ---- One-byte map -------------------------------------------------------
    // 00-3F: the eight ALU operations, six forms each (SDM Table A-2 rows 0-3).
    let alu: [(String, Op)] = [("add", .add), ("or", .or), ("adc", .adc), ("sbb", .sbb),
                               ("and", .and), ("sub", .sub), ("xor", .xor), ("cmp", .cmp)]
    for (i, (name, op)) in alu.enumerated() {
        let base = UInt8(i * 8)
        let lk: Traits = op == .cmp ? [] : lockable
        t += [r(0, base + 0, -1, name, [.Eb, .Gb], op, lk), r(0, base + 1, -1, name, [.Ev, .Gv], op, lk),
              r(0, base + 2, -1, name, [.Gb, .Eb], op), r(0, base + 3, -1, name, [.Gv, .Ev], op),
              r(0, base + 4, -1, name, [.AL, .Ib], op), r(0, base + 5, -1, name, [.eAX, .Iz], op)]
        // 80, 81, 82 (alias of 80 in 32-bit mode), 83: group 1
        t += [r(0, 0x80, Int8(i), name, [.Eb, .Ib], op, lk), r(0, 0x81, Int8(i), name, [.Ev, .Iz], op, lk),
              r(0, 0x82, Int8(i), name, [.Eb, .Ib], op, lk), r(0, 0x83, Int8(i), name, [.Ev, .Ibs], op, lk)]
    }
    let sensitive: Traits = [.sensitive]
    t += [r(0, 0x06, -1, "push", [.ES], .pushSeg, sensitive), r(0, 0x07, -1, "pop", [.ES], .popSeg, sensitive),
          r(0, 0x0E, -1, "push", [.CS], .pushSeg, sensitive),
          r(0, 0x16, -1, "push", [.SS], .pushSeg, sensitive), r(0, 0x17, -1, "pop", [.SS], .popSeg, sensitive),
          r(0, 0x1E, -1, "push", [.DS], .pushSeg, sensitive), r(0, 0x1F, -1, "pop", [.DS], .popSeg, sensitive),
          r(0, 0x27, -1, "daa", [], .daa), r(0, 0x2F, -1, "das", [], .das),
          r(0, 0x37, -1, "aaa", [], .aaa), r(0, 0x3F, -1, "aas", [], .aas)]
    t += [r(0, 0x40, -1, "inc", [.Zv], .inc), r(0, 0x48, -1, "dec", [.Zv], .dec),
          r(0, 0x50, -1, "push", [.Zv], .push), r(0, 0x58, -1, "pop", [.Zv], .pop),
          r(0, 0x60, -1, "pusha", [], .pusha), r(0, 0x61, -1, "popa", [], .popa),
          r(0, 0x62, -1, "bound", [.Gv, .Ma], .bound, mod: .mem), r(0, 0x63, -1, "arpl", [.Ew, .Gw], .arpl),
          r(0, 0x68, -1, "push", [.Iz], .push), r(0, 0x69, -1, "imul", [.Gv, .Ev, .Iz], .imul),
          r(0, 0x6A, -1, "push", [.Ibs], .push), r(0, 0x6B, -1, "imul", [.Gv, .Ev, .Ibs], .imul),
          r(0, 0x6C, -1, "insb", [.Yb, .DX], .ins, [.io, .string]), r(0, 0x6D, -1, "ins", [.Yv, .DX], .ins, [.io, .string]),
          r(0, 0x6E, -1, "outsb", [.DX, .Xb], .outs, [.io, .string]), r(0, 0x6F, -1, "outs", [.DX, .Xv], .outs, [.io, .string])]
    for cc in 0..<16 {
        t.append(r(0, 0x70 + UInt8(cc), -1, "j" + conditionNames[cc], [.Jb], .jcc, [.endsBlock, .conditional]))
        t.append(r(1, 0x80 + UInt8(cc), -1, "j" + conditionNames[cc], [.Jz], .jcc, [.endsBlock, .conditional]))
        t.append(r(1, 0x90 + UInt8(cc), -1, "set" + conditionNames[cc], [.Eb], .setcc))
        t.append(r(1, 0x40 + UInt8(cc), -1, "cmov" + conditionNames[cc], [.Gv, .Ev], .cmovcc))
    }
    t += [r(0, 0x84, -1, "test", [.Eb, .Gb], .test), r(0, 0x85, -1, "test", [.Ev, .Gv], .test),
          r(0, 0x86, -1, "xchg", [.Eb, .Gb], .xchg, lockable), r(0, 0x87, -1, "xchg", [.Ev, .Gv], .xchg, lockable),
          r(0, 0x88, -1, "mov", [.Eb, .Gb], .mov), r(0, 0x89, -1, "mov", [.Ev, .Gv], .mov),
          r(0, 0x8A, -1, "mov", [.Gb, .Eb], .mov), r(0, 0x8B, -1, "mov", [.Gv, .Ev], .mov),
          r(0, 0x8C, -1, "mov", [.Ev, .Sw], .movFromSeg, sensitive), r(0, 0x8D, -1, "lea", [.Gv, .M], .lea, mod: .mem),
          r(0, 0x8E, -1, "mov", [.Sw, .Ew], .movToSeg, sensitive), r(0, 0x8F, 0, "pop", [.Ev], .pop),
          r(0, 0x90, -1, "nop", [], .nop), r(0, 0x90, -1, "pause", [], .pause, prefix: 0xF3),
          r(0, 0x90, -1, "xchg", [.Zv, .eAX], .xchg), // 91-97: 90 itself is claimed by NOP
          r(0, 0x98, -1, "cwde", [], .cbw), r(0, 0x99, -1, "cdq", [], .cwd),
          r(0, 0x9A, -1, "call", [.Ap], .callFar, [.endsBlock, .call, .sensitive]),
          r(0, 0x9B, -1, "wait", [], .wait),
          r(0, 0x9C, -1, "pushf", [], .pushf, sensitive), r(0, 0x9D, -1, "popf", [], .popf, [.sensitive, .endsBlock]),
          r(0, 0x9E, -1, "sahf", [], .sahf), r(0, 0x9F, -1, "lahf", [], .lahf),
          r(0, 0xA0, -1, "mov", [.AL, .Ob], .mov), r(0, 0xA1, -1, "mov", [.eAX, .Ov], .mov),
          r(0, 0xA2, -1, "mov", [.Ob, .AL], .mov), r(0, 0xA3, -1, "mov", [.Ov, .eAX], .mov),
          r(0, 0xA4, -1, "movsb", [.Yb, .Xb], .movs, [.string]), r(0, 0xA5, -1, "movs", [.Yv, .Xv], .movs, [.string]),
          r(0, 0xA6, -1, "cmpsb", [.Xb, .Yb], .cmps, [.string]), r(0, 0xA7, -1, "cmps", [.Xv, .Yv], .cmps, [.string]),
          r(0, 0xA8, -1, "test", [.AL, .Ib], .test), r(0, 0xA9, -1, "test", [.eAX, .Iz], .test),
          r(0, 0xAA, -1, "stosb", [.Yb, .AL], .stos, [.string]), r(0, 0xAB, -1, "stos", [.Yv, .eAX], .stos, [.string]),
          r(0, 0xAC, -1, "lodsb", [.AL, .Xb], .lods, [.string]), r(0, 0xAD, -1, "lods", [.eAX, .Xv], .lods, [.string]),
          r(0, 0xAE, -1, "scasb", [.AL, .Yb], .scas, [.string]), r(0, 0xAF, -1, "scas", [.eAX, .Yv], .scas, [.string]),
          r(0, 0xB0, -1, "mov", [.Zb, .Ib], .mov), r(0, 0xB8, -1, "mov", [.Zv, .Iz], .mov)]
    // Group 2: shifts and rotates (SDM Table A-6).  /6 is an alias of SHL.
    let shifts: [(String, Op)] = [("rol", .rol), ("ror", .ror), ("rcl", .rcl), ("rcr", .rcr),
                                  ("shl", .shl), ("shr", .shr), ("sal", .sal), ("sar", .sar)]
    for (i, (name, op)) in shifts.enumerated() {
        let d = Int8(i)
        t += [r(0, 0xC0, d, name, [.Eb, .Ib], op), r(0, 0xC1, d, name, [.Ev, .Ib], op),
              r(0, 0xD0, d, name, [.Eb, .one], op), r(0, 0xD1, d, name, [.Ev, .one], op),
              r(0, 0xD2, d, name, [.Eb, .CL], op), r(0, 0xD3, d, name, [.Ev, .CL], op)]
    }
    t += [r(0, 0xC2, -1, "ret", [.Iw], .ret, [.endsBlock, .ret]), r(0, 0xC3, -1, "ret", [], .ret, [.endsBlock, .ret]),
          r(0, 0xC4, -1, "les", [.Gv, .Mp], .loadFarPointer, mod: .mem),
          r(0, 0xC5, -1, "lds", [.Gv, .Mp], .loadFarPointer, mod: .mem),
          r(0, 0xC6, 0, "mov", [.Eb, .Ib], .mov), r(0, 0xC7, 0, "mov", [.Ev, .Iz], .mov),
          r(0, 0xC8, -1, "enter", [.Iw, .Ib], .enter), r(0, 0xC9, -1, "leave", [], .leave),
          r(0, 0xCA, -1, "retf", [.Iw], .retFar, [.endsBlock, .ret, .sensitive]),
          r(0, 0xCB, -1, "retf", [], .retFar, [.endsBlock, .ret, .sensitive]),
          r(0, 0xCC, -1, "int3", [], .int3, [.endsBlock, .softInt]),
          r(0, 0xCD, -1, "int", [.Ib], .int, [.endsBlock, .softInt, .sensitive]),
          r(0, 0xCE, -1, "into", [], .into, [.endsBlock, .softInt]),
          r(0, 0xCF, -1, "iret", [], .iret, [.endsBlock, .ret]),
          r(0, 0xD4, -1, "aam", [.Ib], .aam), r(0, 0xD5, -1, "aad", [.Ib], .aad),
          r(0, 0xD7, -1, "xlatb", [], .xlat)]
    // D8-DF: x87 escapes.  No FPU: #NM when CR0.EM or CR0.TS, else #UD (SDM Vol. 3 §2.5).
    for esc in UInt8(0xD8)...0xDF { t.append(r(0, esc, -1, "fpu", [.Ev], .fpu)) }
    let io: Traits = [.io]
    t += [r(0, 0xE0, -1, "loopne", [.Jb], .loopne, [.endsBlock, .conditional]),
          r(0, 0xE1, -1, "loope", [.Jb], .loope, [.endsBlock, .conditional]),
          r(0, 0xE2, -1, "loop", [.Jb], .loop, [.endsBlock, .conditional]),
          r(0, 0xE3, -1, "jecxz", [.Jb], .jecxz, [.endsBlock, .conditional]),
          r(0, 0xE4, -1, "in", [.AL, .Ib], .in, io), r(0, 0xE5, -1, "in", [.eAX, .Ib], .in, io),
          r(0, 0xE6, -1, "out", [.Ib, .AL], .out, io), r(0, 0xE7, -1, "out", [.Ib, .eAX], .out, io),
          r(0, 0xE8, -1, "call", [.Jz], .call, [.endsBlock, .call]), r(0, 0xE9, -1, "jmp", [.Jz], .jmp, jump),
          r(0, 0xEA, -1, "jmp", [.Ap], .jmpFar, [.endsBlock, .sensitive]), r(0, 0xEB, -1, "jmp", [.Jb], .jmp, jump),
          r(0, 0xEC, -1, "in", [.AL, .DX], .in, io), r(0, 0xED, -1, "in", [.eAX, .DX], .in, io),
          r(0, 0xEE, -1, "out", [.DX, .AL], .out, io), r(0, 0xEF, -1, "out", [.DX, .eAX], .out, io),
          r(0, 0xF4, -1, "hlt", [], .hlt, [.privileged, .endsBlock]), r(0, 0xF5, -1, "cmc", [], .cmc),
          r(0, 0xF8, -1, "clc", [], .clc), r(0, 0xF9, -1, "stc", [], .stc),
          r(0, 0xFA, -1, "cli", [], .cli, [.ioplSensitive]), r(0, 0xFB, -1, "sti", [], .sti, [.ioplSensitive, .endsBlock]),
          r(0, 0xFC, -1, "cld", [], .cld), r(0, 0xFD, -1, "std", [], .std)]
    // Group 3 (F6/F7) and groups 4/5 (FE/FF).
    let g3: [(Int8, String, Op, Traits)] = [(0, "test", .test, []), (1, "test", .test, []), (2, "not", .not, lockable),
                                            (3, "neg", .neg, lockable), (4, "mul", .mul, []), (5, "imul", .imul1, []),
                                            (6, "div", .div, []), (7, "idiv", .idiv, [])]
    for (d, name, op, tr) in g3 {
        let imm = op == .test
        t.append(r(0, 0xF6, d, name, imm ? [.Eb, .Ib] : [.Eb], op, tr))
        t.append(r(0, 0xF7, d, name, imm ? [.Ev, .Iz] : [.Ev], op, tr))
    }
    t += [r(0, 0xFE, 0, "inc", [.Eb], .inc, lockable), r(0, 0xFE, 1, "dec", [.Eb], .dec, lockable),
          r(0, 0xFF, 0, "inc", [.Ev], .inc, lockable), r(0, 0xFF, 1, "dec", [.Ev], .dec, lockable),
          r(0, 0xFF, 2, "call", [.Ev], .callIndirect, [.endsBlock, .call]),
          r(0, 0xFF, 3, "call", [.Mp], .callFarIndirect, [.endsBlock, .call, .sensitive], mod: .mem),
          r(0, 0xFF, 4, "jmp", [.Ev], .jmpIndirect, jump),
          r(0, 0xFF, 5, "jmp", [.Mp], .jmpFarIndirect, [.endsBlock, .sensitive], mod: .mem),
          r(0, 0xFF, 6, "push", [.Ev], .push)]

    // ---- Two-byte map (0F xx) -----------------------------------------------
    let priv: Traits = [.privileged]
    let privEnd: Traits = [.privileged, .endsBlock]
    t += [r(1, 0x00, 0, "sldt", [.Ew], .sldt, sensitive), r(1, 0x00, 1, "str", [.Ew], .str, sensitive),
          r(1, 0x00, 2, "lldt", [.Ew], .lldt, priv), r(1, 0x00, 3, "ltr", [.Ew], .ltr, priv),
          r(1, 0x00, 4, "verr", [.Ew], .verr, sensitive), r(1, 0x00, 5, "verw", [.Ew], .verw, sensitive),
          r(1, 0x01, 0, "sgdt", [.Ms], .sgdt, sensitive, mod: .mem),
          r(1, 0x01, 1, "sidt", [.Ms], .sidt, sensitive, mod: .mem),
          r(1, 0x01, 2, "lgdt", [.Ms], .lgdt, priv, mod: .mem), r(1, 0x01, 3, "lidt", [.Ms], .lidt, priv, mod: .mem),
          r(1, 0x01, 4, "smsw", [.Ew], .smsw, sensitive), r(1, 0x01, 6, "lmsw", [.Ew], .lmsw, privEnd),
          r(1, 0x01, 7, "invlpg", [.M], .invlpg, privEnd, mod: .mem),
          r(1, 0x01, 0, "vmcall", [], .vmcall, [.hypercall, .endsBlock], mod: .reg, rm: 1),
          r(1, 0x02, -1, "lar", [.Gv, .Ew], .lar, sensitive), r(1, 0x03, -1, "lsl", [.Gv, .Ew], .lsl, sensitive),
          r(1, 0x06, -1, "clts", [], .clts, priv), r(1, 0x08, -1, "invd", [], .invd, priv),
          r(1, 0x09, -1, "wbinvd", [], .wbinvd, priv), r(1, 0x0B, -1, "ud2", [], .ud2, [.endsBlock]),
          r(1, 0x1F, -1, "nop", [.Ev], .nop), // NOP Ev: every reg value (SDM Table A-3)
          r(1, 0x20, -1, "mov", [.Rd, .Cd], .movFromCR, priv), r(1, 0x21, -1, "mov", [.Rd, .Dd], .movFromDR, priv),
          r(1, 0x22, -1, "mov", [.Cd, .Rd], .movToCR, privEnd), r(1, 0x23, -1, "mov", [.Dd, .Rd], .movToDR, priv),
          r(1, 0x30, -1, "wrmsr", [], .wrmsr, privEnd), r(1, 0x31, -1, "rdtsc", [], .rdtsc, [.vmxExit]),
          r(1, 0x32, -1, "rdmsr", [], .rdmsr, priv),
          r(1, 0xA0, -1, "push", [.FS], .pushSeg, sensitive), r(1, 0xA1, -1, "pop", [.FS], .popSeg, sensitive),
          r(1, 0xA2, -1, "cpuid", [], .cpuid, [.vmxExit]), r(1, 0xA3, -1, "bt", [.Ev, .Gv], .bt),
          r(1, 0xA4, -1, "shld", [.Ev, .Gv, .Ib], .shld), r(1, 0xA5, -1, "shld", [.Ev, .Gv, .CL], .shld),
          r(1, 0xA8, -1, "push", [.GS], .pushSeg, sensitive), r(1, 0xA9, -1, "pop", [.GS], .popSeg, sensitive),
          r(1, 0xAB, -1, "bts", [.Ev, .Gv], .bts, lockable),
          r(1, 0xAC, -1, "shrd", [.Ev, .Gv, .Ib], .shrd), r(1, 0xAD, -1, "shrd", [.Ev, .Gv, .CL], .shrd),
          r(1, 0xAF, -1, "imul", [.Gv, .Ev], .imul),
          r(1, 0xB0, -1, "cmpxchg", [.Eb, .Gb], .cmpxchg, lockable),
          r(1, 0xB1, -1, "cmpxchg", [.Ev, .Gv], .cmpxchg, lockable),
          r(1, 0xB2, -1, "lss", [.Gv, .Mp], .loadFarPointer, mod: .mem),
          r(1, 0xB3, -1, "btr", [.Ev, .Gv], .btr, lockable),
          r(1, 0xB4, -1, "lfs", [.Gv, .Mp], .loadFarPointer, mod: .mem),
          r(1, 0xB5, -1, "lgs", [.Gv, .Mp], .loadFarPointer, mod: .mem),
          r(1, 0xB6, -1, "movzx", [.Gv, .Eb], .movzx), r(1, 0xB7, -1, "movzx", [.Gv, .Ew], .movzx),
          r(1, 0xBA, 4, "bt", [.Ev, .Ib], .bt), r(1, 0xBA, 5, "bts", [.Ev, .Ib], .bts, lockable),
          r(1, 0xBA, 6, "btr", [.Ev, .Ib], .btr, lockable), r(1, 0xBA, 7, "btc", [.Ev, .Ib], .btc, lockable),
          r(1, 0xBB, -1, "btc", [.Ev, .Gv], .btc, lockable),
          r(1, 0xBC, -1, "bsf", [.Gv, .Ev], .bsf), r(1, 0xBD, -1, "bsr", [.Gv, .Ev], .bsr),
          r(1, 0xBE, -1, "movsx", [.Gv, .Eb], .movsx), r(1, 0xBF, -1, "movsx", [.Gv, .Ew], .movsx),
          r(1, 0xC0, -1, "xadd", [.Eb, .Gb], .xadd, lockable), r(1, 0xC1, -1, "xadd", [.Ev, .Gv], .xadd, lockable),
          r(1, 0xC7, 1, "cmpxchg8b", [.Mq], .cmpxchg8b, lockable, mod: .mem),
          r(1, 0xC8, -1, "bswap", [.Zd], .bswap)]
    return t
}()
