// The standard PC of DESIGN.md "Guest machine contract" (wired once the devices land).

extension Machine {
    public static func standardPC(memoryMiB: Int) -> Machine { Machine(memoryMiB: memoryMiB) }
    public func serialInput(_ bytes: [UInt8]) {}
}
