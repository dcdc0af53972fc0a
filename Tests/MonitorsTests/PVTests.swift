import Testing
import Monitors
import PC
import X86

/// The `pv` technique (docs/pv-abi.md, docs/techniques.md "pv"): the
/// paravirtual minikernel prints exactly what the native build prints, by
/// hypercalls alone, and a malicious PV guest gets errors, never access.
@Suite struct PVTests {
    @Test func pvMinikernelMatchesNative() throws {
        let run = try DemoRun.run("minikernel-pv", .pv)
        #expect(run.output == (try DemoRun.expected("minikernel")))
        #expect(run.stop.exitStatus == 33)
        // The PV expectation file is the native one, byte for byte.
        #expect(try DemoRun.expected("pv/minikernel-pv") == (try DemoRun.expected("minikernel")))
    }

    @Test func pvGuestNeverTrapsAndCountsArePlausible() throws {
        let run = try DemoRun.run("minikernel-pv", .pv)
        let log = run.vm.log
        // No privileged instruction was ever executed: nothing to emulate, nothing silent.
        #expect(log.count(.emulated) == 0)
        #expect(log.count(.silent) == 0)
        var byNumber: [UInt32: Int] = [:]
        for e in log.entries where e.kind == .hypercall { byNumber[e.code ?? 999, default: 0] += 1 }
        #expect(log.count(.hypercall) == UInt64(byNumber.values.reduce(0, +)))   // nothing dropped from the ring
        #expect(byNumber[PVABI.setTrapTable] == 1)
        #expect(byNumber[PVABI.vcpuOp] == 1)
        #expect(byNumber[PVABI.schedOp, default: 0] >= 1)                // the shutdown at least
        #expect(byNumber[PVABI.consoleIO, default: 0] > 1000)            // one per character written
        #expect(byNumber[PVABI.portIO, default: 0] > 1000)               // LSR polls, PIC EOIs, PIT set-up
        #expect(byNumber[PVABI.mmuUpdate, default: 0] > 1000)            // every PDE/PTE write
        #expect(byNumber[PVABI.mmuextOp, default: 0] > 100)              // CR3 switches and INVLPGs
        #expect(byNumber[PVABI.stackSwitch, default: 0] > 100)           // one per context switch
        #expect(byNumber[PVABI.iret, default: 0] > 100)                  // every return from a trap
        #expect(byNumber.keys.allSatisfy { PVABI.names[$0] != nil })     // no unknown numbers
        // Every hypercall succeeded and was charged the hypercall cost.
        for e in log.entries where e.kind == .hypercall {
            #expect(Int32(bitPattern: e.detail ?? 0) >= 0, "\(e.outcome)")
            #expect(e.cycles == run.vm.cost.hypercall)
        }
        // The same kernel under `trap` traps on every privileged instruction and loses its IF (docs/techniques.md).
        #expect(log.count(.injection) > 0)
    }

    @Test func nativeCannotRunAPVKernel() throws {
        let run = try DemoRun.run("minikernel-pv", .native, maxInstructions: 1_000_000)
        #expect(run.stop.exitStatus != 33)
        #expect(!run.output.contains("all processes have finished"))
    }

    /// tests/guests/pvbad.bin: one refused hypercall per line (see its source).
    @Test func maliciousHypercallsGetErrors() throws {
        let path = DemoRun.root + "/tests/guests/pvbad.bin"
        let vm = try #require(VirtualMachine(technique: .pv))
        var bytes: [UInt8] = []
        vm.machine.onSerialOutput = { bytes.append($0) }
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        let stop = vm.run(maxInstructions: 1_000_000)
        #expect(stop.exitStatus == 33)
        let want = [
            "pvbad: starting",
            "hello through console_io: 0x00000011",
            "bad number 99: 0xffffffda",                                  // -ENOSYS
            "mmu_update maps a frame beyond RAM: 0xffffffff",             // -EPERM
            "mmu_update maps guest frame 0 (its own, allowed): 0x00000000",
            "mmu_update entry outside RAM: 0xffffffea",                   // -EINVAL
            "mmu_update request in the monitor window: 0xfffffff2",       // -EFAULT
            "mmu_update for another domain: 0xffffffff",
            "mmuext_op new base beyond RAM: 0xffffffff",
            "update_va_mapping without tables: 0xffffffea",
            "console_io buffer in the monitor window: 0xfffffff2",
            "console_io buffer unmapped beyond RAM: 0xfffffff2",
            "set_trap_table takes vector 0x82: 0xffffffff",
            "stack_switch to a ring-0 stack: 0xffffffea",
            "port_io to the keyboard 0x60: 0xffffffff",
            "vcpu_op vcpu_info beyond RAM: 0xffffffea",
            "sched_op unknown command: 0xffffffea",
            "iret to ring 0: 0xffffffff",
            "page-table entry afterwards: 0x00000003",                    // never 0x10000003
            "",
        ]
        #expect(String(decoding: bytes, as: UTF8.self).lines == want)
        // Each refusal is in the trap log as a hypercall with its number and (negative) result.
        let calls = vm.log.entries.filter { $0.kind == .hypercall }
        let refused = calls.filter { Int32(bitPattern: $0.detail ?? 0) < 0 }
        #expect(refused.count == 15)
        #expect(refused.contains { $0.code == 99 && Int32(bitPattern: $0.detail!) == -PVABI.ENOSYS })
        #expect(refused.contains { $0.code == PVABI.mmuUpdate && Int32(bitPattern: $0.detail!) == -PVABI.EPERM })
        #expect(vm.log.count(.emulated) == 0)
        // Host memory outside guest RAM (the monitor's) was never written by the guest's requests:
        // guest-physical 0x10000000 does not exist, and the PTE holds only the allowed value.
        #expect(vm.monitor.hostPhysical(0x1000_0000) == nil)
    }
}
