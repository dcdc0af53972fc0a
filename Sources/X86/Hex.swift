// Hexadecimal formatting without Foundation: "0x0000beef".

/// `v` as 0x-prefixed lowercase hex, zero-padded to `digits`.
public func hex<T: BinaryInteger>(_ v: T, digits: Int = 8) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
}
