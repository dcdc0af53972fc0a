# Lesson 3: the holes — why IA-32 was not classically virtualizable
# guest: demos/build/sensitive.elf
# technique: trap
# max-instructions: 20000000
#
# The `sensitive` demo under trap-and-emulate, against native: SGDT
# revealing the monitor's GDT, POPF silently losing IF and IOPL, PUSH CS
# revealing ring 1.  Popek & Goldberg's theorem and Robin & Irvine's list.
# About 15 minutes.  References: Popek & Goldberg, CACM 17(7), 1974
# (Theorem 1); Robin & Irvine, USENIX Security 2000; Intel SDM Vol. 2B
# (SGDT, POPF, PUSH) and Vol. 3A §5.5 (CPL in CS).

note *Lesson 3 — the holes.*
note Popek and Goldberg (1974) call an instruction *sensitive* if it changes
note the machine's configuration (mode, memory map, interrupts) or if what
note it does depends on that configuration, and *privileged* if it traps
note when run in user mode.  Their Theorem 1: a trap-and-emulate monitor can be
note built if every sensitive instruction is privileged.
note
note Robin and Irvine (2000) examined the Pentium's ~250 instructions and
note found 17 that are sensitive but *not* privileged.  The guest executes
note them one by one and prints what it sees; we run it under `trap`.
info rings
expect $_guest_cpl == 0 && $_cpl == 1
pause

note *SGDT* stores the GDT register — base and limit — and is allowed at
note any CPL (without CR4.UMIP).  The guest's first probe:
x/i 0x100217
expect-output sgdt [dword 0x102868]
tbreak *0x100217
continue
stepi
x/6xb &scratch
note The base it stored is the *monitor's* GDT, at the top of the address
note space, not the guest's own table:
expect *(int *)((int)&scratch + 2) == 0xffc10000
info vcpu
expect-output GDTR  base 0x00101000 limit 0x0047
note Nothing trapped: the monitor only noticed it because Ringside observes
note sensitive instructions for the trap log, marked *silent*.
traps --kind silent --last 1
expect-output silent  0x00100217  sgdt [dword 0x102868]
highlight trap silent
note A program that reads the GDT base can tell it runs in a virtual machine
note (the "red pill").  SIDT, SLDT, STR and SMSW leak the same way.
pause

note *POPF* at CPL 0 may change IF and IOPL.  At CPL > IOPL it leaves IF
note alone, and at CPL > 0 it leaves IOPL alone — *silently*, no fault.
note The guest pushes EFLAGS with IF = 1 and IOPL = 3 and pops them:
x/2i 0x1003a0
expect-output popf
tbreak *0x1003a5
continue
x/xw $esp
expect *(int *)$esp == 0x3202
stepi
info rings
note The kernel believes it set IF and IOPL 3.  The CPU, running it at
note CPL 1, kept IF = 0 and IOPL = 0:
expect ($eflags & 0x200) == 0 && (($eflags >> 12) & 3) == 0
traps --kind silent --last 1
expect-output the CPU kept IF=0 IOPL=0
note A kernel that enables interrupts with POPF (most do, after a critical
note section) would never see its interrupts again.  IRET has the same rule.
pause

note *PUSH CS* stores the code selector, and its low two bits are the CPL.
x/2i _start.probed
tbreak _start.probed
continue
stepi 2
expect ($eax & 3) == 1
note The kernel reads RPL 1 in its own `cs`: it can see it is not in ring 0.
note A monitor cannot hide this — the CPU itself puts the CPL there.
pause

note *The whole probe, both ways.*  From the start under `trap`, then the
note same guest on the bare machine:
technique trap
continue
expect-output sgdt: base=0xffc10000
expect-output popf set IF=1 IOPL=3: eflags=0x00000002 IF=0 IOPL=0
expect-output push cs: 0x0009
expect-output lar  0x0008: ZF=1 ar=0x00c0bb00
note LAR of the kernel's code selector reads access rights 0xbb (DPL 1)
note where native reads 0x9b (DPL 0): the monitor had to change the DPL of
note the guest's descriptors from 0 to 1 so that ring 1 could use them.
stats
expect $_silent > 20
technique native
continue
expect-output sgdt: base=0x00101000
expect-output popf set IF=1 IOPL=3: eflags=0x00003202 IF=1 IOPL=3
expect-output push cs: 0x0008
expect-output lar  0x0008: ZF=1 ar=0x00c09b00
note Native prints the truth; trap-and-emulate prints the monitor's tables,
note loses the flags and shows ring 1 — and none of these instructions
note trapped.
pause

note *Robin and Irvine's list* (the paper's two groups):
note - sensitive register instructions: SGDT, SIDT, SLDT, SMSW, PUSHF, POPF;
note - protection system instructions: LAR, LSL, VERR, VERW, POP, PUSH,
note   CALL, JMP, INT n, RET, STR, MOV (segment-register and far forms).
note So IA-32 fails Theorem 1.  Three ways out, one lesson each: translate
note the kernel's code so that these never run (*binary translation*, 4);
note change the CPU so that they can be made to exit (*VT-x*, 5); or change
note the kernel so that it never uses them (*paravirtualization*, 6).
