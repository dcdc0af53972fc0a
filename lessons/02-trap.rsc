# Lesson 2: trap-and-emulate
# guest: demos/build/rings.elf
# technique: trap
# max-instructions: 20000000
#
# Ring compression; CLI and MOV CR3 trapping and being emulated against a
# virtual CPU; the shadow page tables behind a guest CR3; the cost of each
# trap.  The same guest as lesson 1, now under a trap-and-emulate monitor.
# About 10 minutes.  References: Popek & Goldberg 1974 (the trap-and-
# emulate VMM); Adams & Agesen, ASPLOS 2006, §2 (de-privileging, shadow
# structures) and §3 (the cost of a trap); Intel SDM Vol. 3A §5.9
# (privileged instructions) and §6.8.1 (CLI and IOPL).

note *Lesson 2 — trap-and-emulate.*
note Popek and Goldberg's recipe for a virtual machine monitor (1974): run
note the guest's kernel *deprivileged*, so that every privileged instruction
note traps into the monitor, which then *emulates* it on a virtual CPU.
note On x86 the monitor takes ring 0, and the guest kernel is moved to ring 1
note (*ring compression*); guest user code stays in ring 3.
info rings
expect $_guest_cpl == 0 && $_cpl == 1
note The guest believes it is in ring 0.  `info vcpu` shows the virtual CPU
note the monitor keeps for it beside the real one: real IDT and GDT are the
note monitor's, at the top of the address space.
info vcpu
pause

note *The first trap.*  The kernel's first instruction is `cli`.  At CPL 1
note with IOPL 0, CLI raises #GP(0) — exactly what the monitor wants.
x/i $eip
expect-output cli
catch trap #GP
continue
expect-output (trap #GP error=0x0), 0x00101119 in _start ()
expect $_instructions == 0
note The fault goes to the monitor, not to the guest.  The monitor decodes the
note instruction, clears IF *in the vCPU*, and resumes after it:
stepi
focus traps
traps
expect $_emulated == 1 && $_event_cycles == 2030
highlight trap emulated
expect $eip == _start + 1 && $_guest_if == 0
note Every trap is charged 2,030 modeled cycles: the trap-and-emulate cost
note Adams and Agesen measured for a privileged instruction on a Pentium 4.
pause

note *MOV CR3.*  Later the kernel turns on paging: it loads CR3 with the
note address of its page directory.  Also privileged, also a trap.
delete
x/i 0x101250
expect-output mov cr3,eax
break *0x101250
continue
info vcpu
stepi
traps --last 4
expect-output emulated      0x00101250  mov cr3,eax
expect $_guest_cr3 == (int)&page_dir
note The guest's CR3 now names its page directory, but the *real* CR3 still
note points at the monitor's *shadow* page tables: the guest's tables map
note guest-physical addresses, the shadow tables map the same addresses to
note the host frames the guest really lives in (lesson 7).
expect $cr3 != $_guest_cr3
info shadow $eip
expect-output = guest-physical 0x0010125b + 0x00800000
pause

note *What it costs.*  Let the kernel finish setting up:
delete
break next_test
continue
stats
expect $_emulated == 129 && $_instructions == 4727 && $_silent == 8
note 4,727 instructions and 129 traps.  Ringside charges one modeled cycle
note per instruction and 2,030 per trap, so the traps cost 55 times more
note than all the instructions together:
expect $_emulated * 2030 > 55 * $_instructions
note Most of them are the serial console: each `in` and `out` of its polling
note loop traps.  (Port I/O is slow on real hardware too — lesson 8 compares
note the costs technique by technique.)  The 8 *silent* events are the
note subject of the next lesson.
pause

note *Not everything traps.*  Test 5 executes `popf` in ring 3 to clear IF,
note then prints EFLAGS.  Run it to the start of test 6:
delete
break t_div
continue
expect-output user: popf tried to clear IF; eflags now 0x00000002
note On native it printed 0x00000202 (IF = 1).  Here IF is 0 *in user mode*:
note the kernel's IRET into ring 3 ran at CPL 1, where IRET may not set IF —
note and IRET does not trap, so the monitor never knew.  That is lesson 3.
