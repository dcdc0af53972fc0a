import PC
import X86

/// The `--dump-state json` object: the hook for differential testing.
enum StateDump {
    static func json(_ m: Machine, stop: MachineStop, memory: [(UInt32, UInt32)]) -> String {
        let c = m.cpu
        var fields: [String] = []
        for (i, name) in Reg.names32.enumerated() { fields.append("\"\(name)\": \(c.regs[i])") }
        fields.append("\"eip\": \(c.eip)")
        fields.append("\"eflags\": \(c.eflags)")
        fields.append("\"instructions\": \(c.instructions)")
        fields.append("\"stop\": \"\(stopText(stop))\"")
        var chunks: [String] = []
        for (start, length) in memory {
            var hexText = ""
            for k in 0..<length {
                let b = c.readPhysical(start &+ k, 1)
                hexText += String(hex(b, digits: 2).dropFirst(2))
            }
            chunks.append("{\"address\": \"\(hex(start))\", \"hex\": \"\(hexText)\"}")
        }
        fields.append("\"memory\": [\(chunks.joined(separator: ", "))]")
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func stopText(_ s: MachineStop) -> String {
        switch s {
        case .halted, .idleForever: return "halted"
        case .instructionLimit: return "limit"
        case .exception(let e): return "exception \(hex(e.vector, digits: 2))"
        case .tripleFault: return "triple fault"
        case .debugExit(let v): return "debug-exit \(v)"
        case .unsupported(let why): return "unsupported: \(why)"
        case .reset: return "reset"
        case .breakpoint: return "breakpoint"
        case .watchpoint: return "watchpoint"
        case .interrupted: return "interrupted"
        }
    }
}
