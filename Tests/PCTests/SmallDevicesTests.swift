// isa-debug-exit (QEMU hw/misc/debugexit.c), the POST port 0x80, and the
// minimal 8042 (IBM PC/AT Technical Reference, keyboard controller status
// register and command 0xFE).

import Testing
@testable import PC

@Suite("Small devices")
struct SmallDevicesTests {

    @Test("isa-debug-exit: ports 0xF4–0xF7; a write of v requests exit status (v << 1) | 1")
    func debugExit() {
        let statuses = Box<[Int]>([])
        let dev = DebugExit { statuses.value.append($0) }
        #expect(dev.ports == [0xF4...0xF7])
        dev.write(port: 0xF4, size: 1, value: 0)
        dev.write(port: 0xF4, size: 1, value: 0x10)
        dev.write(port: 0xF5, size: 4, value: 0x8000_0000)
        dev.write(port: 0xF4, size: 1, value: 0x1FF)    // a byte write carries only the low byte
        #expect(statuses.value == [1, 0x21, 0x1_0000_0001, 0x1FF])
        #expect(dev.requestedStatus == 0x1FF)
        #expect(dev.read(port: 0xF4, size: 1) == 0)
    }

    @Test("POST port 0x80: writes are recorded; reads give the last code, 0xFF before any write")
    func postPort() {
        let post = POSTPort()
        #expect(post.read(port: 0x80, size: 1) == 0xFF)
        post.write(port: 0x80, size: 1, value: 0x12)
        post.write(port: 0x80, size: 1, value: 0x34)
        #expect(post.lastCode == 0x34)
        #expect(post.read(port: 0x80, size: 1) == 0x34)
        #expect(post.history == [0x12, 0x34])
        for i in 0..<40 { post.write(port: 0x80, size: 1, value: UInt32(i)) }
        #expect(post.history.count == post.historyLimit)
        #expect(post.history.last == 39)
    }

    @Test("8042: status at 0x64 shows both buffers empty (OBF=IBF=0) with SYS set; 0x60 reads 0")
    func keyboardStatus() {
        let kbc = KeyboardController()
        #expect(kbc.ports == [0x60...0x60, 0x64...0x64])
        let status = kbc.read(port: 0x64, size: 1)
        #expect(status & 0x03 == 0)
        #expect(status & 0x04 == 0x04)
        #expect(status == 0x1C)
        kbc.write(port: 0x60, size: 1, value: 0xAB)
        #expect(kbc.read(port: 0x64, size: 1) == 0x14)   // A2: the last write was data
        #expect(kbc.read(port: 0x60, size: 1) == 0)
    }

    @Test("8042 command 0xFE pulses reset; other commands are ignored")
    func keyboardReset() {
        let resets = Box(0)
        let kbc = KeyboardController { resets.value += 1 }
        kbc.write(port: 0x64, size: 1, value: 0xAD)
        #expect(resets.value == 0)
        kbc.write(port: 0x64, size: 1, value: 0xFE)
        #expect(resets.value == 1)
        #expect(kbc.resetRequests == 1)
    }
}
