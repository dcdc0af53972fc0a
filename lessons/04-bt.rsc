# Lesson 4: binary translation (after VMware)
# guest: demos/build/sensitive.elf
# technique: bt
# max-instructions: 20000000
#
# A block and its translation side by side; IDENT copies, inline rewrites
# and callouts; chaining; self-modifying code invalidating a translation.
# The sensitive demo shows the holes of lesson 3 closed by translation; the
# smc demo rewrites its own code.  About 15 minutes.  References: Adams &
# Agesen, ASPLOS 2006, §3 (VMware's translator, the cost of a trap, a
# callout and an in-TC sequence); Popek & Goldberg 1974, Theorem 3 (the
# hybrid VMM); Intel SDM Vol. 3A §11.6 (self-modifying code).

note *Lesson 4 — binary translation.*
note VMware (1999) ran the guest kernel deprivileged, as in lesson 2, but
note never let it execute its own code: each basic block of kernel code is
note *translated* on first use into a *translation cache* (TC), and the
note translation is what runs.  Sensitive instructions are rewritten, so
note they never misbehave; everything else is copied as it is.  Guest user
note code runs directly.  (Popek and Goldberg's Theorem 3 — the hybrid
note monitor — made fast.)
info rings
expect $_guest_cpl == 0 && $_cpl == 1
pause

note *A block and its translation.*  Stop where the kernel reloads its
note segment registers after LGDT:
break _start.reload_cs
continue
focus code
translate $eip
expect-output IDENT
expect-output CALLOUT
note Left, the guest's instructions; right, what the CPU really runs, in
note the TC at the top of the address space.  Most rows are *IDENT*:
note copied byte for byte.  Segment loads are sensitive (they check the
note CPL), so each became a *callout*: `int 0xf0` into the monitor, which
note runs the instruction against the guest's view of the machine.  The
note CALL at the end is a *BRANCH*: it pushes the *guest* return address
note and jumps to the callee's translation.
expect $eip == _start.reload_cs
pause

note *Inline rewrites.*  Cheaper than a callout is an *in-TC* sequence:
note no monitor entry at all.  `mov eax,cr0` (privileged: it would trap)
note becomes a load of the guest's CR0 from the vCPU area:
translate 0x100343
expect-output INLINE
expect-output reads the guest's CR0 from the vCPU area, no trap
note And `mov ax,cs`, which leaks ring 1 under trap-and-emulate, becomes
note the guest's own selector as an immediate:
translate 0x100564
expect-output the guest's CS selector 0x0008 (RPL 0), not the real one
note Adams and Agesen's figures for one privileged instruction on a
note Pentium 4, which Ringside's cost model uses: trap-and-emulate 2,030
note cycles, a callout 1,254, an in-TC sequence 216.
pause

note *Chaining.*  A block's exits at first go through a stub that finds
note (or makes) the target's translation; once it exists the jump is
note patched to go straight there; the not-taken side of a branch is laid
note out right after it, so it needs no jump at all.  The serial port's
note polling loop:
translate serial_putc
expect-output taken: to the target's translation
info tc
expect-output chains
note The cache statistics: almost every lookup hits, and chained jumps
note need no lookup at all.
pause

note *No holes.*  The rest of the probe:
delete
continue
expect-output sgdt: base=0x00101000
expect-output popf set IF=1 IOPL=3: eflags=0x00003202 IF=1 IOPL=3
expect-output push cs: 0x0008
expect $_silent == 0
note Byte for byte the native output: every sensitive instruction was
note rewritten, so none ran as written at CPL 1.
stats
pause

note *Self-modifying code.*  x86 runs the bytes that are in memory when an
note instruction is fetched, even bytes the kernel just wrote (SDM §11.6).
note A translator must notice: `bt` write-protects every page it has
note translated code from.  The smc demo patches the immediate operand of
note a function, `answer`, and calls it again:
file demos/build/smc.elf
break answer
continue
translate answer
expect-output mov eax,0x1
delete
tbreak *answer
continue
traps --kind invalidation --last 1
expect-output hit translated code
expect $_invalidation == 1
note The store into `answer` faulted on the protected page; the monitor
note dropped the page's translations and let the store through.  The next
note call translated the new bytes:
translate answer
expect-output mov eax,0x2a
delete
continue
expect-output 1. function patched: before 1, after 42
expect-output smc: all three ran the new bytes
traps --kind invalidation
note Correct — and each invalidation costs a fault plus retranslation, so
note code that rewrites itself often is expensive under binary translation.
