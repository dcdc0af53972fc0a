import X86

// The trap log (DESIGN.md "Trap log"): one entry per monitor event, in a
// bounded ring buffer, with exact totals kept however many entries the
// buffer has dropped.  Written as JSON Lines by `ringside run --trap-log`.

/// What happened.
public enum EventKind: String, CaseIterable, Sendable {
    /// An exception raised by the CPU while the guest ran (vector, error code).
    case exception
    /// A privileged instruction that faulted and was emulated on the vCPU.
    case emulated
    /// A sensitive-but-unprivileged instruction that did not trap (Robin & Irvine).
    case silent
    /// Translated code called into the monitor (binary translation).
    case callout
    /// A VM exit with its basic reason and qualification (VT-x).
    case vmexit
    /// A paravirtual guest called the hypervisor.
    case hypercall
    /// The monitor injected an interrupt or exception into the guest.
    case injection
    /// A page fault the guest never sees: the shadow tables lacked a translation.
    case shadowFault = "shadow-fault"
    /// A guest page-table write tracked through write protection.
    case ptWrite = "pt-write"
    /// A block translated into the translation cache, or translations invalidated.
    case translation
    case invalidation
}

public struct TrapEvent: Sendable {
    public var sequence: UInt64 = 0
    /// Virtual time in nanoseconds.
    public var time: UInt64
    public var technique: Technique
    public var kind: EventKind
    /// Exception vector, VM-exit reason or hypercall number, when there is one.
    public var code: UInt32?
    /// Error code or exit qualification.
    public var detail: UInt32?
    public var eip: UInt32
    public var instruction: String
    /// The CPL the guest believes it runs at, and the CPU's real CPL.
    public var guestCPL: UInt8
    public var realCPL: UInt8
    /// VMX operation: nil outside VT-x, true in non-root operation.
    public var nonRoot: Bool?
    /// What came of it, in words ("emulated: vIF=0", "reflected to the guest", …).
    public var outcome: String
    /// Modeled cycles charged to the event (CostModel).
    public var cycles: UInt64

    public init(time: UInt64, technique: Technique, kind: EventKind, code: UInt32? = nil, detail: UInt32? = nil,
                eip: UInt32, instruction: String, guestCPL: UInt8, realCPL: UInt8, nonRoot: Bool? = nil,
                outcome: String, cycles: UInt64) {
        self.time = time; self.technique = technique; self.kind = kind; self.code = code; self.detail = detail
        self.eip = eip; self.instruction = instruction; self.guestCPL = guestCPL; self.realCPL = realCPL
        self.nonRoot = nonRoot; self.outcome = outcome; self.cycles = cycles
    }

    /// One JSON object on one line.
    public var jsonLine: String {
        var f = ["\"seq\":\(sequence)", "\"time_ns\":\(time)", "\"technique\":\"\(technique.rawValue)\"",
                 "\"kind\":\"\(kind.rawValue)\""]
        if let code { f.append("\"code\":\(code)") }
        if let detail { f.append("\"detail\":\(detail)") }
        f += ["\"eip\":\"\(hex(eip))\"", "\"instruction\":\(jsonString(instruction))",
              "\"guest_cpl\":\(guestCPL)", "\"real_cpl\":\(realCPL)"]
        if let nonRoot { f.append("\"vmx\":\"\(nonRoot ? "non-root" : "root")\"") }
        f += ["\"outcome\":\(jsonString(outcome))", "\"cycles\":\(cycles)"]
        return "{" + f.joined(separator: ",") + "}"
    }
}

/// A JSON string literal.
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += "\\u" + String(hex(u.value, digits: 4).dropFirst(2)) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// The bounded log and its exact totals.
public final class TrapLog {
    public let capacity: Int
    private var ring: [TrapEvent] = []
    private var start = 0
    public private(set) var total: UInt64 = 0
    public private(set) var countsByKind: [EventKind: UInt64] = [:]
    public private(set) var cyclesByKind: [EventKind: UInt64] = [:]
    /// Counts per instruction mnemonic (for `--stats` "by instruction").
    public private(set) var countsByInstruction: [String: UInt64] = [:]
    /// Every appended event also goes here (the --trap-log writer, the debugger's catchpoints).
    public var observer: ((TrapEvent) -> Void)?

    public init(capacity: Int = 65536) { self.capacity = max(1, capacity) }

    public func append(_ event: TrapEvent) {
        var e = event
        e.sequence = total
        total += 1
        countsByKind[e.kind, default: 0] += 1
        cyclesByKind[e.kind, default: 0] += e.cycles
        let mnemonic = String(e.instruction.split(separator: " ").first ?? "")
        if !mnemonic.isEmpty { countsByInstruction[mnemonic, default: 0] += 1 }
        if ring.count < capacity { ring.append(e) } else { ring[start] = e; start = (start + 1) % capacity }
        observer?(e)
    }

    /// Counts an event too frequent to keep one by one (`bt`'s return-target
    /// lookups): the totals stay exact, the ring and the observer never see it.
    public func tally(_ kind: EventKind, cycles: UInt64, mnemonic: String) {
        total += 1
        countsByKind[kind, default: 0] += 1
        cyclesByKind[kind, default: 0] += cycles
        countsByInstruction[mnemonic, default: 0] += 1
    }

    /// The retained entries, oldest first.
    public var entries: [TrapEvent] { Array(ring[start...] + ring[..<start]) }
    public var totalCycles: UInt64 { cyclesByKind.values.reduce(0, +) }
    public func count(_ kind: EventKind) -> UInt64 { countsByKind[kind] ?? 0 }
}
