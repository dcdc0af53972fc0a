// 8259A behaviour a kernel relies on (Intel 8259A datasheet: "Initialization
// Command Words", "Operation Command Words", "Fully Nested Mode", "End of
// Interrupt", "Automatic Rotation", "Special Mask Mode", "Poll Command",
// "Reading the 8259A Status", "Edge and Level Triggered Modes", "Cascade Mode").

import Testing
import X86
@testable import PC

extension PIC8259 {
    func r(_ port: UInt16) -> UInt8 { UInt8(read(port: port, size: 1)) }
    func w(_ port: UInt16, _ v: UInt8) { write(port: port, size: 1, value: UInt32(v)) }
    func raise(_ n: Int) { irqLine(n).raise() }
    func lower(_ n: Int) { irqLine(n).lower() }
    func eoiMaster() { w(0x20, 0x20) }
    func eoiSlave() { w(0xA0, 0x20) }
}

/// The usual PC remap: master vectors 0x20–0x27, slave 0x28–0x2F, all unmasked.
private func remapped(autoEOI: Bool = false, levelTriggered: Bool = false) -> PIC8259 {
    let pic = PIC8259(biosState: false)
    let icw1: UInt8 = 0x11 | (levelTriggered ? 0x08 : 0)
    let icw4: UInt8 = autoEOI ? 0x03 : 0x01
    pic.w(0x20, icw1); pic.w(0x21, 0x20); pic.w(0x21, 0x04); pic.w(0x21, icw4)
    pic.w(0xA0, icw1); pic.w(0xA1, 0x28); pic.w(0xA1, 0x02); pic.w(0xA1, icw4)
    pic.w(0x21, 0x00); pic.w(0xA1, 0x00)
    return pic
}

@Suite("PIC 8259A pair")
struct PIC8259Tests {

    @Test("ICW1–ICW4 sequence: ICW2 sets the vector base (low 3 bits ignored), ICW3 the cascade, then the odd port is OCW1")
    func initializationSequence() {
        let pic = PIC8259(biosState: false)
        pic.w(0x21, 0x55)
        pic.w(0x20, 0x11)              // ICW1: edge, cascade, ICW4 needed
        #expect(pic.master.initStep == 2)
        #expect(pic.r(0x21) == 0)      // ICW1 clears IMR
        pic.w(0x21, 0x27)              // ICW2: T7–T3 only
        #expect(pic.master.vectorBase == 0x20)
        #expect(pic.master.initStep == 3)
        pic.w(0x21, 0x04)              // ICW3: slave on IR2
        #expect(pic.master.initStep == 4)
        pic.w(0x21, 0x01)              // ICW4: 8086
        #expect(pic.master.initStep == 0)
        pic.w(0x21, 0xFB)              // now OCW1
        #expect(pic.r(0x21) == 0xFB)
        #expect(pic.master.icw3 == 0x04)
    }

    @Test("Single mode without ICW4 (ICW1 SNGL=1, IC4=0): ICW2 completes the sequence")
    func singleModeShortSequence() {
        let pic = PIC8259(biosState: false)
        pic.w(0x20, 0x12)
        pic.w(0x21, 0x40)
        #expect(pic.master.initStep == 0)
        pic.w(0x21, 0x0F)
        #expect(pic.r(0x21) == 0x0F)
        #expect(pic.master.vectorBase == 0x40)
        pic.raise(5)
        #expect(pic.acknowledgeInterrupt() == 0x45)
    }

    @Test("BIOS state: master vectors 0x08, slave 0x70, cascade on IR2 (as SeaBIOS leaves a multiboot kernel)")
    func biosState() {
        let pic = PIC8259()
        #expect(pic.master.vectorBase == 0x08)
        #expect(pic.slave.vectorBase == 0x70)
        #expect(pic.r(0x21) == 0xB8)
        pic.raise(0)
        #expect(pic.interruptPending)
        #expect(pic.acknowledgeInterrupt() == 0x08)
    }

    @Test("A rising edge sets IRR; INTA returns base+level, moves the bit from IRR to ISR")
    func basicDelivery() {
        let pic = remapped()
        #expect(!pic.interruptPending)
        pic.raise(1)
        #expect(pic.interruptPending)
        #expect(pic.r(0x20) == 0x02)   // IRR (the default read after ICW1)
        #expect(pic.acknowledgeInterrupt() == 0x21)
        pic.w(0x20, 0x0B)              // OCW3: read ISR
        #expect(pic.r(0x20) == 0x02)
        pic.w(0x20, 0x0A)              // OCW3: read IRR
        #expect(pic.r(0x20) == 0x00)
        #expect(!pic.interruptPending)
        let source: any InterruptSource = pic
        #expect(!source.interruptPending)
    }

    @Test("OCW1 masking: a masked request stays in IRR and is delivered when unmasked")
    func masking() {
        let pic = remapped()
        pic.w(0x21, 0x08)
        pic.raise(3)
        #expect(!pic.interruptPending)
        #expect(pic.r(0x20) == 0x08)
        pic.w(0x21, 0x00)
        #expect(pic.interruptPending)
        #expect(pic.acknowledgeInterrupt() == 0x23)
    }

    @Test("Fully nested priority: IR0 highest; an in-service level blocks itself and lower levels, not higher ones")
    func fixedPriority() {
        let pic = remapped()
        pic.raise(5); pic.raise(3)
        #expect(pic.acknowledgeInterrupt() == 0x23)
        #expect(!pic.interruptPending)             // 5 is lower than 3 in service
        pic.raise(1)
        #expect(pic.interruptPending)              // 1 is higher: nests
        #expect(pic.acknowledgeInterrupt() == 0x21)
        pic.w(0x20, 0x0B)
        #expect(pic.r(0x20) == 0x0A)               // ISR: 1 and 3
        pic.eoiMaster()                            // non-specific: clears 1
        #expect(pic.r(0x20) == 0x08)
        #expect(!pic.interruptPending)
        pic.eoiMaster()                            // clears 3
        #expect(pic.interruptPending)
        #expect(pic.acknowledgeInterrupt() == 0x25)
    }

    @Test("Specific EOI (OCW2 0x60|L) clears exactly ISR bit L")
    func specificEOI() {
        let pic = remapped()
        pic.raise(3)
        _ = pic.acknowledgeInterrupt()
        pic.raise(1)
        _ = pic.acknowledgeInterrupt()
        pic.w(0x20, 0x63)
        pic.w(0x20, 0x0B)
        #expect(pic.r(0x20) == 0x02)
        pic.w(0x20, 0x61)
        #expect(pic.r(0x20) == 0x00)
    }

    @Test("Auto-EOI (ICW4 bit 1): INTA leaves ISR clear, so the same level can interrupt again without an EOI")
    func autoEOI() {
        let pic = remapped(autoEOI: true)
        pic.raise(4)
        #expect(pic.acknowledgeInterrupt() == 0x24)
        pic.w(0x20, 0x0B)
        #expect(pic.r(0x20) == 0x00)
        pic.lower(4); pic.raise(4)
        #expect(pic.interruptPending)
        #expect(pic.acknowledgeInterrupt() == 0x24)
    }

    @Test("Edge mode: a line held high after INTA does not request again; it must fall and rise")
    func edgeNeedsNewEdge() {
        let pic = remapped()
        pic.raise(6)
        _ = pic.acknowledgeInterrupt()
        pic.eoiMaster()
        #expect(!pic.interruptPending)
        pic.lower(6)
        #expect(!pic.interruptPending)
        pic.raise(6)
        #expect(pic.acknowledgeInterrupt() == 0x26)
    }

    @Test("Level mode (ICW1 LTIM): the request follows the line and comes back after EOI while the line stays high")
    func levelTriggered() {
        let pic = remapped(levelTriggered: true)
        pic.raise(6)
        #expect(pic.acknowledgeInterrupt() == 0x26)
        #expect(!pic.interruptPending)             // in service
        pic.eoiMaster()
        #expect(pic.interruptPending)              // still high: requests again
        pic.lower(6)
        #expect(!pic.interruptPending)
    }

    @Test("Spurious IRQ 7: the line falls before INTA; the master answers base+7 and sets no ISR bit")
    func spuriousMaster() {
        let pic = remapped()
        pic.raise(3)
        #expect(pic.interruptPending)              // the CPU has seen INT
        pic.lower(3)                               // request gone before INTA
        #expect(pic.acknowledgeInterrupt() == 0x27)
        pic.w(0x20, 0x0B)
        #expect(pic.r(0x20) == 0x00)
        pic.w(0x20, 0x0A)
        #expect(pic.r(0x20) == 0x00)               // the dropped request is gone
        #expect(!pic.interruptPending)
    }

    @Test("A fallen request does not hide a live one: INTA delivers the live request")
    func fallenRequestSkipped() {
        let pic = remapped()
        pic.raise(3); pic.raise(5)
        pic.lower(3)
        #expect(pic.acknowledgeInterrupt() == 0x25)
    }

    @Test("Spurious IRQ 15: the slave's request falls before INTA; the slave answers its base+7, the master's ISR bit 2 is set")
    func spuriousSlave() {
        let pic = remapped()
        pic.raise(11)
        #expect(pic.interruptPending)
        pic.lower(11)
        #expect(pic.interruptPending)              // the master's IR2 request is latched
        #expect(pic.acknowledgeInterrupt() == 0x2F)
        pic.w(0x20, 0x0B); pic.w(0xA0, 0x0B)
        #expect(pic.r(0x20) == 0x04)               // master: IR2 in service
        #expect(pic.r(0xA0) == 0x00)               // slave: nothing
        pic.eoiMaster()                            // only the master needs an EOI
        #expect(pic.r(0x20) == 0x00)
        #expect(!pic.interruptPending)
    }

    @Test("QEMU compatibility switch: with latchDroppedRequests, a fallen edge request is still delivered")
    func latchedRequests() {
        let pic = remapped()
        pic.latchDroppedRequests = true
        pic.raise(3); pic.lower(3)
        #expect(pic.acknowledgeInterrupt() == 0x23)
    }

    @Test("Cascade: IRQ 10 goes through master IR2; both ISRs are set and each needs its EOI")
    func cascade() {
        let pic = remapped()
        pic.raise(10)
        #expect(pic.interruptPending)
        #expect(pic.master.irr & 0x04 == 0x04)
        #expect(pic.acknowledgeInterrupt() == 0x2A)
        pic.w(0x20, 0x0B); pic.w(0xA0, 0x0B)
        #expect(pic.r(0x20) == 0x04)
        #expect(pic.r(0xA0) == 0x04)
        pic.eoiSlave(); pic.eoiMaster()
        #expect(pic.r(0x20) == 0 && pic.r(0xA0) == 0)
    }

    @Test("Slave IRQs sit at the master's level 2: above IRQ 3, below IRQ 1")
    func cascadePriority() {
        let pic = remapped()
        pic.raise(3); pic.raise(12)
        #expect(pic.acknowledgeInterrupt() == 0x2C)
        pic.raise(1)
        #expect(pic.acknowledgeInterrupt() == 0x21)   // nests over IR2 in service
        #expect(!pic.interruptPending)                // 3 waits behind IR2
        pic.eoiMaster()                                // ends 1
        #expect(!pic.interruptPending)
        pic.eoiSlave(); pic.eoiMaster()               // ends 12
        #expect(pic.acknowledgeInterrupt() == 0x23)
    }

    @Test("Masking the slave's line (master IMR bit 2) masks all of IRQ 8–15")
    func cascadeMasked() {
        let pic = remapped()
        pic.w(0x21, 0x04)
        pic.raise(9)
        #expect(!pic.interruptPending)
        pic.w(0x21, 0x00)
        #expect(pic.acknowledgeInterrupt() == 0x29)
    }

    @Test("A slave in auto-EOI with two requests gives the master a fresh edge for the second")
    func cascadeSecondRequest() {
        let pic = remapped(autoEOI: true)
        pic.raise(8); pic.raise(13)
        #expect(pic.acknowledgeInterrupt() == 0x28)
        #expect(pic.interruptPending)
        #expect(pic.acknowledgeInterrupt() == 0x2D)
        #expect(!pic.interruptPending)
    }

    @Test("irqLine(2) is the cascade; a device on it is wired to IRQ 9 as on the PC/AT bus")
    func irq2RedirectedTo9() {
        let pic = remapped()
        pic.raise(2)
        #expect(pic.acknowledgeInterrupt() == 0x29)
    }

    @Test("OCW3 RR/RIS select IRR or ISR on the even port; the odd port reads IMR")
    func statusReads() {
        let pic = remapped()
        pic.w(0x21, 0x90)
        pic.raise(0); pic.raise(5)
        _ = pic.acknowledgeInterrupt()             // 0 into service
        pic.w(0x20, 0x0A)
        #expect(pic.r(0x20) == 0x20)
        pic.w(0x20, 0x0B)
        #expect(pic.r(0x20) == 0x01)
        #expect(pic.r(0x20) == 0x01)               // the selection persists
        #expect(pic.r(0x21) == 0x90)
        pic.w(0x20, 0x08)                          // OCW3 without RR: selection unchanged
        #expect(pic.r(0x20) == 0x01)
    }

    @Test("Poll command (OCW3 P): the next read returns 0x80|level and acts as INTA; 0 when nothing requests")
    func pollMode() {
        let pic = remapped()
        pic.raise(5)
        pic.w(0x20, 0x0C)
        #expect(pic.r(0x20) == 0x85)
        pic.w(0x20, 0x0B)
        #expect(pic.r(0x20) == 0x20)               // in service now
        pic.w(0x20, 0x0C)
        #expect(pic.r(0x21) == 0x00)               // nothing requesting (poll on either port)
    }

    @Test("Specific rotation (OCW2 set priority, 0xC0|L): L becomes lowest, L+1 highest")
    func setPriority() {
        let pic = remapped()
        pic.w(0x20, 0xC4)                          // 4 lowest: 5 6 7 0 1 2 3 4
        pic.raise(3); pic.raise(6)
        #expect(pic.acknowledgeInterrupt() == 0x26)
        pic.w(0x20, 0x66)
        #expect(pic.acknowledgeInterrupt() == 0x23)
    }

    @Test("Rotate on non-specific EOI (OCW2 0xA0): the level just served becomes lowest")
    func rotateOnEOI() {
        let pic = remapped()
        pic.raise(1)
        _ = pic.acknowledgeInterrupt()
        pic.w(0x20, 0xA0)
        #expect(pic.master.lowestPriority == 1)
        pic.raise(0); pic.raise(3)                  // 3 now outranks 0
        #expect(pic.acknowledgeInterrupt() == 0x23)
    }

    @Test("Rotate on specific EOI (OCW2 0xE0|L) ends L and makes it lowest; rotate in auto-EOI (OCW2 0x80) rotates on each INTA")
    func rotateVariants() {
        let pic = remapped()
        pic.raise(5)
        _ = pic.acknowledgeInterrupt()
        pic.w(0x20, 0xE5)
        #expect(pic.master.isr == 0 && pic.master.lowestPriority == 5)
        let aeoi = remapped(autoEOI: true)
        aeoi.w(0x20, 0x80)
        aeoi.raise(0); aeoi.raise(1)
        #expect(aeoi.acknowledgeInterrupt() == 0x20)
        #expect(aeoi.master.lowestPriority == 0)
        aeoi.lower(0); aeoi.raise(0)                 // 0 requests again but is now lowest
        #expect(aeoi.acknowledgeInterrupt() == 0x21)
        aeoi.w(0x20, 0x00)                           // clear rotate in auto-EOI
        #expect(!aeoi.master.rotateOnAutoEOI)
    }

    @Test("Special fully nested mode (ICW4 SFNM) on the master: a higher slave request nests while IR2 is in service")
    func specialFullyNested() {
        for sfnm in [false, true] {
            let pic = remapped()
            pic.w(0x20, 0x11); pic.w(0x21, 0x20); pic.w(0x21, 0x04); pic.w(0x21, sfnm ? 0x11 : 0x01)
            pic.w(0x21, 0x00)
            pic.raise(12)
            #expect(pic.acknowledgeInterrupt() == 0x2C)
            pic.raise(9)                             // higher than 12 on the slave
            #expect(pic.interruptPending == sfnm)
            if sfnm { #expect(pic.acknowledgeInterrupt() == 0x29) }
        }
    }

    @Test("Special mask mode (OCW3 ESMM|SMM): masking the level in service lets lower levels through")
    func specialMaskMode() {
        let pic = remapped()
        pic.raise(3)
        _ = pic.acknowledgeInterrupt()
        pic.raise(5)
        #expect(!pic.interruptPending)
        pic.w(0x21, 0x08)                          // mask 3 (in service)
        pic.w(0x20, 0x68)                          // OCW3: set special mask mode
        #expect(pic.interruptPending)
        #expect(pic.acknowledgeInterrupt() == 0x25)
        pic.w(0x20, 0x48)                          // reset special mask mode
        #expect(!pic.master.specialMask)
    }

    @Test("ICW1 resets the edge sense: a line already high does not request until it falls and rises")
    func icw1ResetsEdgeSense() {
        let pic = remapped()
        pic.raise(4)
        let fresh = remappedAgain(pic)
        #expect(!fresh.interruptPending)
        fresh.lower(4); fresh.raise(4)
        #expect(fresh.acknowledgeInterrupt() == 0x24)
    }

    private func remappedAgain(_ pic: PIC8259) -> PIC8259 {
        pic.w(0x20, 0x11); pic.w(0x21, 0x20); pic.w(0x21, 0x04); pic.w(0x21, 0x01)
        pic.w(0x21, 0x00)
        return pic
    }

    @Test("INTA with nothing requested at all answers the master's base+7 (spurious)")
    func spuriousWithNothing() {
        let pic = remapped()
        #expect(pic.acknowledgeInterrupt() == 0x27)
    }

    @Test("state shows both chips")
    func inspection() {
        let pic = remapped()
        pic.raise(1)
        #expect(pic.state["master.IRR"] == "0x02")
        #expect(pic.state["slave.base"] == "0x28")
        #expect(pic.state["INT"] == "high")
    }
}
