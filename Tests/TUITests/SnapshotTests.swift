// The whole screen, rendered into the canvas and compared with snapshot
// files (Snapshot.swift): each technique, a narrow terminal, long symbol
// names, an empty trap log, a selected trap with its details, a filter
// that matches nothing, a terminal too small, and the `bt` side-by-side
// Code panel fed by a synthetic translation (the real one comes from the
// bt monitor through the same protocol).

import Foundation
import Testing
@testable import TUI
@testable import Debugger
@testable import PC
import Monitors
import X86

/// A session on a demo, stopped by `commands`.
func session(_ guest: String, _ technique: String, _ commands: [String] = []) throws -> Model {
    var o = SessionOptions()
    o.technique = technique
    o.maxInstructions = 5_000_000
    let m = Model(session: try Session(guestPath: Repo.demo(guest), options: o))
    for c in commands { m.run(c) }
    return m
}

/// A translation the way a `bt` translator would present it, made up from
/// the guest's own disassembly: most instructions copied (IDENT), control
/// flow redirected (BRANCH), CLI/STI rewritten inline, other privileged
/// instructions turned into callouts.  Only the shape is real.
final class SyntheticTranslation: TranslationSource {
    let session: Session
    init(_ s: Session) { session = s }

    func translationRows(around address: UInt32) -> [TranslationRow]? {
        var tc: UInt32 = 0xC020_0000
        return CodePanel.listing(session, around: address, count: 12).prefix(16).map { i in
            let mnemonic = String(i.text.split(separator: " ").first ?? "")
            let lines: [String], rewrite: String, reason: String?
            switch mnemonic {
            case "cli", "sti":
                (lines, rewrite, reason) = (["mov byte [0xc0000044],0x\(mnemonic == "sti" ? 1 : 0)"], "INLINE",
                                            "the virtual IF, not the real one")
            case "lgdt", "lidt", "hlt", "in", "out", "iret", "popf":
                (lines, rewrite, reason) = (["int 0xf0", "db 0x\(String(i.bytes[0], radix: 16))"], "CALLOUT",
                                            "privileged or sensitive: run on the vCPU")
            case "call", "jmp", "jnz", "jz":
                (lines, rewrite, reason) = (["push 0x\(hex8(i.address &+ UInt32(i.length)))", "jmp 0xc0201000"], "BRANCH",
                                            "to translated code")
            default:
                (lines, rewrite, reason) = ([i.text], "IDENT", nil)
            }
            let translated = lines.map { t -> TranslatedLine in
                defer { tc &+= 5 }
                return TranslatedLine(address: tc, text: t)
            }
            return TranslationRow(guest: i.address, original: i.text, translated: translated, rewrite: rewrite, reason: reason)
        }
    }
}

@Suite("Snapshots")
struct SnapshotTests {
    static let stopAtReload = ["break _start.reload_cs", "continue"]

    @Test("native, stopped at a breakpoint")
    func native() throws {
        let m = try session("sensitive.elf", "native", Self.stopAtReload)
        Snapshot.check(Screen.render(m, rows: 40, cols: 120).0, "native-120x40")
    }

    @Test("trap, one step after a breakpoint: changed registers, rings apart, the trap log")
    func trap() throws {
        let m = try session("sensitive.elf", "trap", Self.stopAtReload + ["stepi"])
        Snapshot.check(Screen.render(m, rows: 40, cols: 120).0, "trap-120x40")
    }

    @Test("vtx: VM exits in the log, VMX non-root in Rings")
    func vtx() throws {
        let m = try session("sensitive.elf", "vtx", Self.stopAtReload)
        Snapshot.check(Screen.render(m, rows: 40, cols: 120).0, "vtx-120x40")
    }

    @Test("pv: hypercalls in the log")
    func pv() throws {
        let m = try session("minikernel-pv.elf", "pv", ["break arch_enable_paging", "continue"])
        Snapshot.check(Screen.render(m, rows: 40, cols: 120).0, "pv-120x40")
    }

    @Test("bt: the translation beside the original, rewrites marked with their reasons")
    func bt() throws {
        let m = try session("sensitive.elf", "trap")
        m.translations = SyntheticTranslation(m.session)
        Snapshot.check(Screen.render(m, rows: 40, cols: 120).0, "bt-synthetic-120x40")
        let rows = CodePanel.lines(m, height: 30, width: 80).map(\.text)
        #expect(rows.first?.hasPrefix("original") == true)
        let cli = try #require(rows.firstIndex { $0.contains("cli") })
        #expect(rows[cli].contains(" * │ c0200000 mov byte [0xc0000044],0x0"), "\(rows[cli])")
        #expect(rows[cli + 1].contains("↳ INLINE: the virtual IF"))
        let mov = try #require(rows.firstIndex { $0.contains("mov esp,0x103870") })
        #expect(rows[mov].hasSuffix("mov esp,0x103870") && !rows[mov].contains(" * "), "copied as it is: \(rows[mov])")
    }

    @Test("wide: a trap-log entry on one line")
    func wide() throws {
        let m = try session("sensitive.elf", "trap", Self.stopAtReload)
        Snapshot.check(Screen.render(m, rows: 60, cols: 200).0, "trap-200x60")
    }

    @Test("narrow: 80x24, every panel")
    func narrow() throws {
        let m = try session("sensitive.elf", "trap", Self.stopAtReload)
        Snapshot.check(Screen.render(m, rows: 24, cols: 80).0, "trap-80x24")
    }

    @Test("too small")
    func tooSmall() throws {
        let m = try session("sensitive.elf", "trap")
        Snapshot.check(Screen.render(m, rows: 20, cols: 70).0, "too-small-70x20")
    }

    @Test("long symbol names are cut at the panel edges, not wrapped")
    func longSymbols() throws {
        let m = try session("sensitive.elf", "trap", Self.stopAtReload)
        let long = m.session.symbols.entries.map {
            Symbol(name: "a_rather_long_symbol_name_from_a_c_plus_plus_kernel_" + $0.name, address: $0.address,
                   size: $0.size, isFunction: $0.isFunction)
        }
        m.session.symbols = SymbolTable(elf: [], fallback: long)
        Snapshot.check(Screen.render(m, rows: 40, cols: 120).0, "long-symbols-120x40")
    }

    @Test("an empty trap log: not started under trap; nothing of a filtered kind")
    func emptyTrapLog() throws {
        let m = try session("sensitive.elf", "trap")
        Snapshot.check(Screen.render(m, rows: 40, cols: 120).0, "empty-trap-log-120x40")
        let f = try session("sensitive.elf", "trap", Self.stopAtReload + ["traps --kind callout"])
        #expect(f.trapFilter == .callout)
        Snapshot.check(Screen.render(f, rows: 40, cols: 120).0, "trap-filter-none-120x40")
    }

    @Test("a selected trap-log entry shows its details")
    func selection() throws {
        let m = try session("sensitive.elf", "trap", Self.stopAtReload)
        m.focus = .trapLog
        TrapLogPanel.move(m, by: -2)
        Snapshot.check(Screen.render(m, rows: 40, cols: 120).0, "trap-selected-120x40")
    }
}
