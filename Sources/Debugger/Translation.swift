import Monitors
import X86

// `translate ADDR` and `info tc` (issue 6's virtualization verbs; `bt` only):
// a guest block beside the code the CPU really runs for it, from the
// translation cache, each rewrite marked and explained.
//
//   (ringside) translate kmain
//   guest block 0x00100040-0x00100052 <kmain> -> TC 0xffd00000-0xffd0001c
//     0x00100040  push ebp                 IDENT    0xffd00000  push ebp
//     0x00100044  call 0x100100            BRANCH   0xffd00003  push dword 0x100049
//                                                   0xffd00008  jmp -> 0x00100100
//         pushes the guest return address 0x100049, jumps to the callee's translation
//     0x00100049  cli                      CALLOUT  0xffd0000d  int 0xf0  ; callout
//         privileged: emulated on the vCPU

extension Session {
    var translator: BTMonitor? { monitor as? BTMonitor }

    func translateCommand(_ e: Expr?) throws(CommandError) {
        guard let bt = translator else { throw notAvailable() }
        try requireRunning()
        let g = try e.map { (x: Expr) throws(CommandError) in try address(x) } ?? linearEIP
        guard let b = bt.block(containing: g) ?? bt.translateForDebugger(g) else {
            throw CommandError("cannot translate \(hex(g)): the guest cannot fetch code there")
        }
        emit(Session.translationListing(b, symbols: symbols, mark: linearEIP))
    }

    static func translationListing(_ b: TCBlock, symbols: SymbolTable, mark: UInt32? = nil) -> String {
        b.listing(label: { symbols.label($0) }, mark: mark)
    }

    func tcInfo() throws(CommandError) {
        guard let bt = translator else { throw notAvailable() }
        let st = bt.stats
        let rate = st.lookups == 0 ? 0 : st.hits * 1000 / st.lookups
        var s = "translation cache: \(st.blocks) blocks, \(st.instructions) guest instructions, \(st.bytes) bytes"
        s += " of \(bt.cacheBytes)\n"
        s += "lookups \(st.lookups), hits \(st.hits) (\(rate / 10).\(rate % 10)%), chains \(st.chains), callouts \(st.callouts)\n"
        s += "invalidations \(st.invalidations), flushes \(st.flushes)\n"
        let blocks = bt.translatedBlocks
        if !blocks.isEmpty { s += "blocks:\n" }
        for b in blocks.prefix(64) {
            let kinds = Dictionary(grouping: b.rows, by: \.rewrite).mapValues(\.count)
            let summary = TCRewrite.allCases.compactMap { k in kinds[k].map { "\($0) \(k.rawValue)" } }.joined(separator: ", ")
            s += "  \(hex(b.guestStart))-\(hex(b.guestEnd))" + (symbols.label(b.guestStart).map { " <\($0)>" } ?? "")
            s += " -> \(hex(b.tcStart)) (\(b.tcEnd &- b.tcStart) bytes; \(summary))\n"
        }
        if blocks.count > 64 { s += "  … \(blocks.count - 64) more (translate ADDR shows one)\n" }
        emit(s)
    }
}
