// Every packet kind through the dispatcher, against a fake target, and
// malformed variants of each: an error or empty reply, never a trap.

import Testing
@testable import GDBRemote

/// Sends one payload; returns the reply text ("<kill>" for `k`, "<close>…" for `D`).
func send(_ stub: GDBStub, _ packet: String, interrupted: () -> Bool = { false }) -> String {
    switch stub.handle(bytes(packet), interrupted: interrupted) {
    case .reply(let r): return text(r)
    case .replyAndClose(let r): return "<close>" + text(r)
    case .kill: return "<kill>"
    }
}

@Suite struct StubPackets {
    let target = FakeTarget()
    var stub: GDBStub { GDBStub(target: target) }

    @Test func qSupportedAnnouncesWhatWeDo() {
        let r = send(stub, "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vContSupported+")
        #expect(r.contains("PacketSize=4000"))
        #expect(r.contains("QStartNoAckMode+"))
        #expect(r.contains("vContSupported+"))
        #expect(!r.contains("multiprocess+"))
    }

    @Test func stopReasonQuery() {
        #expect(send(stub, "?") == "T05thread:01;")
        target.stopReason = .exited(0x21)
        #expect(send(stub, "?") == "W21")
        target.stopReason = .terminated(11)
        #expect(send(stub, "?") == "X0b")
        target.stopReason = .watchpoint(.writeWatchpoint, address: 0x1234)
        #expect(send(stub, "?") == "T05watch:1234;thread:01;")
    }

    @Test func readAllRegisters() {
        target.regs = (0..<16).map { UInt32($0) }
        target.regs[8] = 0x0010_0010
        let r = send(stub, "g")
        #expect(r.count == 16 * 8)
        #expect(r.hasPrefix("00000000" + "01000000" + "02000000"))
        #expect(r.dropFirst(64).prefix(8) == "10001000")
        #expect(send(stub, "gx") == "E01")
    }

    @Test func writeAllRegisters() {
        var values = target.regs
        values[0] = 0xDEAD_BEEF
        values[9] = 0x246
        let hexText = values.map { text(GDBHex.littleEndian32($0)) }.joined()
        #expect(send(stub, "G" + hexText) == "OK")
        #expect(target.regs[0] == 0xDEAD_BEEF)
        #expect(target.regs[9] == 0x246)
        // gdb may send more registers than we have (FPU state): the extra is ignored.
        #expect(send(stub, "G" + hexText + String(repeating: "0", count: 64)) == "OK")
        #expect(send(stub, "G" + hexText.dropLast(8)) == "E01")        // too short
        #expect(send(stub, "G" + hexText.dropLast(1) + "z") == "E01")   // not hex
        #expect(send(stub, "G" + hexText + "0") == "E01")               // not whole registers
        // A register the target refuses (CS here) is an error.
        values[10] = 0x1B
        #expect(send(stub, "G" + values.map { text(GDBHex.littleEndian32($0)) }.joined()) == "E01")
    }

    @Test func oneRegister() {
        target.regs[8] = 0x0010_0010
        #expect(send(stub, "p8") == "10001000")
        #expect(send(stub, "p08") == "10001000")
        #expect(send(stub, "pf") == text(GDBHex.littleEndian32(target.regs[15])))
        #expect(send(stub, "p10") == "E01")     // beyond GS
        #expect(send(stub, "p") == "E01")
        #expect(send(stub, "pzz") == "E01")
        #expect(send(stub, "P0=78563412") == "OK")
        #expect(target.regs[0] == 0x1234_5678)
        #expect(send(stub, "P10=00000000") == "E01")
        #expect(send(stub, "P0=785634") == "E01")
        #expect(send(stub, "P0") == "E01")
        #expect(send(stub, "P=00000000") == "E01")
        #expect(send(stub, "Pa=1b000000") == "E01" || target.regs[10] == 0x1B)
    }

    @Test func readMemory() {
        #expect(send(stub, "m1000,4") == "00010203")
        #expect(send(stub, "m10ff,2") == "ff00")
        // Running off the end of what is readable gives the readable part.
        #expect(send(stub, "m1ffe,8") == "feff")
        #expect(send(stub, "m0,4") == "E14")
        #expect(send(stub, "mffffffff,10") == "E14")
        #expect(send(stub, "m1000") == "E01")
        #expect(send(stub, "m1000,") == "E01")
        #expect(send(stub, "mxyz,4") == "E01")
        #expect(send(stub, "m1000,4,5") == "E01")
        #expect(send(stub, "m1000,0") == "")
        // Big requests are answered in part; gdb asks again for the rest.
        #expect(send(stub, "m1000,ffffffff").count == 2 * 0x1000)
    }

    @Test func writeMemoryHex() {
        #expect(send(stub, "M1000,4:deadbeef") == "OK")
        #expect(target.memory[0..<4] == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(send(stub, "M1000,4:dead") == "E01")      // length mismatch
        #expect(send(stub, "M1000,2:zzzz") == "E01")
        #expect(send(stub, "M1000,2") == "E01")           // no data
        #expect(send(stub, "M0,1:00") == "E14")           // unmapped
        #expect(send(stub, "Mffffffff,2:0000") == "E14")  // would wrap
    }

    @Test func writeMemoryBinary() {
        // The reader has already undone escapes, so X data arrives raw.
        let payload = bytes("X1004,4:") + [0x23, 0x24, 0x7D, 0x2A]
        guard case .reply(let r) = GDBStub(target: target).handle(payload) else { Issue.record("no reply"); return }
        #expect(text(r) == "OK")
        #expect(target.memory[4..<8] == [0x23, 0x24, 0x7D, 0x2A])
        #expect(send(stub, "X1000,0:") == "OK")          // gdb's probe
        #expect(send(stub, "X1000,2:a") == "E01")
        #expect(send(stub, "X0,1:a") == "E14")
        #expect(send(stub, "X1000,1") == "E01")
    }

    @Test func continueAndStep() {
        target.regs[8] = 0x100
        #expect(send(stub, "s") == "T05thread:01;")
        #expect(target.steps == 1 && target.regs[8] == 0x101)
        #expect(send(stub, "s200") == "T05thread:01;")
        #expect(target.regs[8] == 0x201)
        #expect(send(stub, "c") == "T05thread:01;")
        #expect(target.resumes == 1)
        #expect(send(stub, "c300") == "T05thread:01;")
        #expect(target.regs[8] == 0x300)
        #expect(send(stub, "cxyz") == "E01")
        #expect(send(stub, "C05") == "T05thread:01;")
        #expect(send(stub, "S05;400") == "T05thread:01;")
        #expect(target.regs[8] == 0x401)
        #expect(send(stub, "C") == "E01")
        #expect(send(stub, "Cxx") == "E01")
    }

    @Test func continueRunsUntilInterrupted() {
        target.resumeResult = nil
        var calls = 0
        let r = send(stub, "c") { calls += 1; return calls == 3 }
        #expect(r == "T02thread:01;")
        #expect(target.polls == 3)
    }

    @Test func anEndedGuestStaysEnded() {
        target.resumeResult = .exited(0x21)
        #expect(send(stub, "c") == "W21")
        #expect(send(stub, "c") == "W21")
        #expect(send(stub, "s") == "W21")
        #expect(send(stub, "vCont;c") == "W21")
        #expect(target.resumes == 1 && target.steps == 0)
    }

    @Test func vCont() {
        #expect(send(stub, "vCont?") == "vCont;c;C;s;S;t")
        #expect(send(stub, "vCont;s:1") == "T05thread:01;")
        #expect(target.steps == 1)
        #expect(send(stub, "vCont;s:1;c") == "T05thread:01;")
        #expect(target.steps == 2 && target.resumes == 0)
        #expect(send(stub, "vCont;c") == "T05thread:01;")
        #expect(target.resumes == 1)
        #expect(send(stub, "vCont;C05:1") == "T05thread:01;")
        #expect(send(stub, "vCont;s:2;c") == "T05thread:01;")    // the action for another thread is skipped
        #expect(target.resumes == 3)
        #expect(send(stub, "vCont;t") == "T00thread:01;")
        #expect(send(stub, "vCont;") == "E01")
        #expect(send(stub, "vCont;x") == "E01")
        #expect(send(stub, "vCont;cc") == "E01")
        #expect(send(stub, "vCont;Czz") == "E01")
        #expect(send(stub, "vCont;s:2") == "E01")
        #expect(send(stub, "vCont") == "")
        #expect(send(stub, "vMustReplyEmpty") == "")
        #expect(send(stub, "vKill;1") == "")     // gdb then sends `k`
    }

    @Test func softwareAndHardwareBreakpoints() {
        #expect(send(stub, "Z0,100010,1") == "OK")
        #expect(send(stub, "Z1,100020,1") == "OK")
        #expect(target.breakpoints.map(\.1) == [0x100010, 0x100020])
        #expect(send(stub, "z0,100010,1") == "OK")
        #expect(target.breakpoints.map(\.1) == [0x100020])
        #expect(send(stub, "z0,100010,1") == "E01")      // the target says it was not there
        #expect(send(stub, "Z0,dead,1") == "E01")        // the target refused
        #expect(send(stub, "Z0,100010,1;X2,0a") == "OK") // a condition list is tolerated
        #expect(send(stub, "Z0,100010") == "E01")
        #expect(send(stub, "Z0") == "E01")
        #expect(send(stub, "Zq,1,1") == "E01")
        #expect(send(stub, "Z0,xyz,1") == "E01")
    }

    @Test func watchpointsUnsupportedByThisTargetGiveEmptyReplies() {
        #expect(send(stub, "Z2,2000,4") == "")
        #expect(send(stub, "z2,2000,4") == "")
        #expect(send(stub, "Z3,2000,4") == "")
        #expect(send(stub, "Z4,2000,4") == "")
        #expect(send(stub, "Z9,2000,4") == "")
    }

    @Test func monitorCommands() {
        let r = send(stub, "qRcmd," + text(GDBHex.encode("info rings")))
        #expect(GDBHex.decode(bytes(r)).map(text) == "ran: info rings\n")
        #expect(target.monitorCommands == ["info rings"])
        #expect(send(stub, "qRcmd," + text(GDBHex.encode("quiet"))) == "OK")
        #expect(send(stub, "qRcmd,zz") == "E01")
        #expect(send(stub, "qRcmd,123") == "E01")
    }

    @Test func killDetachAndThreads() {
        #expect(send(stub, "k") == "<kill>")
        #expect(send(stub, "D") == "<close>OK")
        #expect(send(stub, "D;1") == "<close>OK")
        #expect(send(stub, "Hg0") == "OK")
        #expect(send(stub, "Hc-1") == "OK")
        #expect(send(stub, "Hg5") == "E01")
        #expect(send(stub, "Hx") == "")
        #expect(send(stub, "T1") == "OK")
        #expect(send(stub, "T2") == "E01")
        #expect(send(stub, "qC") == "QC1")
        #expect(send(stub, "qfThreadInfo") == "m1")
        #expect(send(stub, "qsThreadInfo") == "l")
        #expect(send(stub, "qAttached") == "1")
        #expect(send(stub, "qOffsets") == "Text=0;Data=0;Bss=0")
        #expect(send(stub, "qSymbol::") == "OK")
        #expect(send(stub, "qTStatus") == "")
        #expect(send(stub, "qXfer:features:read:target.xml:0,ffb") == "")
    }

    @Test func noAckMode() {
        let s = stub
        #expect(!s.noAckMode)
        #expect(send(s, "QStartNoAckMode") == "OK")
        #expect(s.noAckMode)
        s.reset()
        #expect(!s.noAckMode)
    }

    @Test func unknownAndEmptyPackets() {
        #expect(send(stub, "") == "")
        #expect(send(stub, "!") == "")
        #expect(send(stub, "R00") == "")
        #expect(send(stub, "b") == "")
        #expect(send(stub, "\u{7F}\u{1}") == "")
    }

    @Test func randomPacketsNeverTrap() {
        var rng = SplitMix(seed: 7)
        let s = stub
        target.resumeResult = .signal(5)
        let alphabet = Array("gGpPmMXcsCSzZkDHTqQv?,;:=0123456789abcdefxyz-".utf8)
        for _ in 0..<5000 {
            let n = Int(rng.next() % 24)
            let p = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            _ = s.handle(p)
        }
    }
}
