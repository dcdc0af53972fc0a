# Lesson 6: paravirtualization (after Xen)
# guest: demos/build/minikernel-pv.elf
# technique: pv
# max-instructions: 12000000
#
# The PV minikernel's hypercalls against the native build's privileged
# instructions: the same C kernel, with arch_pv.c in place of
# arch_native.c.  About 10 minutes.  References: Barham et al., "Xen and
# the Art of Virtualization", SOSP 2003; docs/pv-abi.md (Ringside's
# hypercall ABI, after Xen's); demos/minikernel/arch_pv.c and
# arch_native.c.

note *Lesson 6 — paravirtualization.*
note Xen (2003) took the third way out: if some instructions cannot be
note virtualized, the guest kernel should not use them.  A *paravirtual*
note kernel is modified to ask the hypervisor — with a *hypercall*, a
note system call into the hypervisor — wherever a native kernel would use
note privileged state.  It runs in ring 1, and it knows it:
info rings
expect $_cpl == 1 && $_guest_cpl == 1
pause

note *The same kernel, two builds.*  The minikernel keeps everything that
note touches privileged state behind a small interface (`arch.h`); the PV
note build replaces `arch_native.c` by `arch_pv.c`, nothing else.  To mask
note interrupts, the PV kernel writes a byte it shares with the hypervisor
note (Xen's `evtchn_upcall_mask`) — no CLI, no trap:
disassemble arch_irq_disable
expect-output mov byte [dword 0x11a1c1],0x1
note And port I/O becomes a hypercall: EAX = the number, EBX, ECX, EDX …
note the arguments, `int 0x82` (docs/pv-abi.md).
x/6i arch_outb + 46
expect-output int 0x82
pause

note *Hypercalls at work.*  Catch them:
catch hypercall
continue
traps --last 1
expect $_event_code == 48 && $_hypercall == 1
note Hypercall 48 is Ringside's `port_io` (the serial port's set-up);
note the hypervisor checks the port against a whitelist and performs it.
note Page-table updates are hypercalls too (`mmu_update`, number 1): the
note hypervisor *validates* every entry — the frame must be the guest's —
note before writing it, so the guest can never map the hypervisor.
delete
catch hypercall 1
continue
traps --kind hypercall --last 1
expect $_event_code == 1 && $eax == 0
pause

note *The whole run.*
delete
continue
expect-output minikernel: all processes have finished
expect-output [Inferior 1 (guest) exited with code 33]
stats
expect $_emulated == 0 && $_silent == 0
expect $_hypercall > 6000
note No emulated instruction, no silent one: nothing to trap, nothing to go
note wrong.  Each hypercall is charged 1,000 modeled cycles, half a trap.
pause

note *The native build*, for comparison — first on the bare machine:
technique native
file demos/build/minikernel.elf
disassemble arch_irq_disable
expect-output cli
x/3i arch_outb
expect-output out dx,al
note Now the native build under trap-and-emulate.  Its privileged
note instructions trap and are emulated; its IRET back to a process runs at
note CPL 1, where it cannot set IF (lesson 3) — so the timer is never
note taken again:
technique trap
continue
expect-output pong: round 1: got 3, answering 9 after a nap
expect-output instruction limit
stats
expect $_emulated > 1000 && $_silent > 100
note The sleeping process never wakes and the one that never yields runs
note for ever: the run ends at the instruction limit.  The PV build ran to
note the end because its `iret` is a hypercall that restores the event mask.
note
note The price of paravirtualization is the modified kernel: the PV image
note cannot boot on bare hardware (`int 0x82` has no handler there).  Xen
note made the price small by porting Linux's `arch` layer — as here.
