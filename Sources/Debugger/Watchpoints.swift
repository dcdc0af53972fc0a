import Monitors
import X86

// watch, rwatch and awatch as gdb has them with hardware watchpoints:
//
//   (ringside) watch ticks
//   Hardware watchpoint 2: ticks
//   (ringside) continue
//   Continuing.
//
//   Hardware watchpoint 2: ticks
//
//   Old value = 0
//   New value = 1
//   0x00100a3c in trap ()
//
// The watched expression must name memory: a symbol (its address, as many
// bytes as the symbol's size when that is 1, 2, 4 or 8, else 4), `*ADDR`,
// `*(char *) ADDR`, `{short} ADDR`, `p[i]`.  Its range goes into the CPU's
// watchpoint list (X86/Watchpoints.swift), which stops a run after an
// instruction that touched it, with EIP at the next instruction; the
// addresses are guest-linear under every technique, since the monitors'
// shadow tables and the EPT model translate the guest's own linear
// addresses.
//
// What is reported follows gdb (breakpoint.c, watchpoint_check):
//   - watch: only when the value changed (a write of the same value passes);
//   - rwatch: every read, with `Value =`;
//   - awatch: `Old value`/`New value` when the value changed, else `Value =`.
// The old value is the one read when the run began (or at the last check):
// writes the guest makes without the CPU — the monitors' own accesses on
// its behalf — show as a change at the next trigger.

/// A watchpoint's expression, resolved once when it is set.
public struct WatchSpec: Sendable, Equatable {
    public var kind: WatchKind
    /// Guest-linear address of the first byte watched.
    public var address: UInt32
    /// How the watched bytes read and print (its size is the length watched).
    public var type: CType
    /// The expression as typed.
    public var text: String

    /// The CPU's form of it.
    var range: Watchpoint {
        let k: Watchpoint.Kind
        switch kind {
        case .write: k = .write
        case .read: k = .read
        case .access: k = .access
        }
        return Watchpoint(address: address, length: UInt32(type.size), kind: k)
    }
}

extension Session {
    func setWatchpoint(_ kind: WatchKind, _ e: Expr, text: String, condition: Expr?, conditionText: String?) throws(CommandError) {
        let (address, type) = try watchedLocation(e, text: text)
        let b = newBreakpoint(.watch(WatchSpec(kind: kind, address: address, type: type, text: text)), .keep)
        b.condition = condition
        b.conditionText = conditionText
        b.oldValue = try? load(type, at: address)
        line("\(kind.title) \(b.number): \(text)")
    }

    /// Where the watched expression lies and how its bytes read.
    func watchedLocation(_ e: Expr, text: String) throws(CommandError) -> (UInt32, CType) {
        switch e {
        case .literal:
            throw CommandError("Cannot watch constant value `\(text)'.")
        case .symbol(let name):
            let (a, _) = try location(e)
            let size = symbols.lookup(name).map { Int($0.size) } ?? 4
            switch size {
            case 1: return (a, .char(signed: true))
            case 2, 8: return (a, .int(size: size, signed: true))
            default: return (a, .int32)
            }
        case .deref, .memory, .index:
            let (a, t) = try location(e)
            switch t {
            case .void, .function, .dataSymbol: return (a, .int32)
            default: return (a, t)
            }
        default:
            throw CommandError("Cannot watch `\(text)': it is not in memory (Ringside's watchpoints are hardware watchpoints).")
        }
    }

    /// `info watchpoints`: the table, watchpoints only.
    func watchpointTable() -> String {
        let list = breakpoints.filter { $0.watch != nil }
        return list.isEmpty ? "No watchpoints.\n" : breakpointTable(list)
    }

    /// The CPU's list: the enabled watchpoints plus the gdb stub's.  Assigned
    /// only when it changes (an assignment empties the TLB).  The values a run
    /// starts from are read here.
    func syncWatchpoints() {
        var want: [Watchpoint] = []
        for b in breakpoints where b.enabled {
            guard let w = b.watch else { continue }
            want.append(w.range)
            b.oldValue = try? load(w.type, at: w.address)
        }
        want += externalWatchpoints
        if cpu.watchpoints != want { cpu.watchpoints = want }
    }

    /// After the CPU stopped on a watched access: the watchpoints that report,
    /// as gdb decides (see the top of the file), or nil to run on.
    func watchpointStop() -> StopEvent? {
        let hits = cpu.takeWatchHits()
        var triggers: [WatchTrigger] = []
        for b in breakpoints where b.enabled {
            guard let w = b.watch, hits.contains(where: { $0.watchpoint == w.range }) else { continue }
            if let t = check(b, w) { triggers.append(t) }
        }
        guard !triggers.isEmpty else { return nil }
        lastStopBreakpoint = triggers[0].number
        stopCounts["watchpoints", default: 0] += 1
        stoppedAfterWatch = true
        return stopEvent(.watchpoint(triggers))
    }

    /// One watchpoint the instruction touched: its report, or nil when it does
    /// not stop (value unchanged for `watch`, condition false, ignore count).
    private func check(_ b: Breakpoint, _ w: WatchSpec) -> WatchTrigger? {
        let old = b.oldValue
        let new = try? load(w.type, at: w.address)
        b.oldValue = new
        let changed = old != new
        if w.kind == .write && !changed { return nil }
        if let c = b.condition {
            do {
                if !(try arithmetic(try evaluate(c)).isTrue) { return nil }
            } catch {
                emit("Error in testing condition for breakpoint \(b.number):\n\(error.message)\n")
            }
        }
        b.hitCount += 1
        if b.ignoreCount > 0 { b.ignoreCount -= 1; return nil }
        func text(_ v: Value?) -> String { v.map { formatValue($0, nil) } ?? "<unreadable>" }
        let showOld = w.kind == .write || (w.kind == .access && changed)
        return WatchTrigger(number: b.number, kind: w.kind, expression: w.text,
                            old: showOld ? text(old) : nil, value: text(new))
    }
}
