# Lesson 1: rings and privilege
# guest: demos/build/rings.elf
# technique: native
# max-instructions: 20000000
#
# CPL, DPL and RPL; a system call through a gate; a #GP and a #PF from
# ring 3.  The guest is a small kernel (demos/rings/rings.asm) that runs
# twelve tests in ring 3, each entered with IRET and ended by a system call
# or an exception.  About 10 minutes.  References: Intel SDM Vol. 3A
# §5.5 (privilege levels), §5.8 (gates), §6.12 (exception and interrupt
# handling), §4.7 (page-fault error codes).

note *Lesson 1 — rings and privilege.*
note x86 protected mode has four privilege levels: rings 0 (the most
note privileged) to 3.  The CPU's *current privilege level* (CPL) is the
note low two bits of `cs`.
note The guest is a tiny kernel that starts in ring 0, as every kernel does:
info rings
expect $_cpl == 0
expect ($cs & 3) == 0
pause

note *Segment selectors and descriptors.*  A selector holds an index into a
note descriptor table (bits 15:3), a table bit TI (bit 2: GDT or LDT) and a
note *requested privilege level* RPL (bits 1:0).  Each descriptor carries a
note *descriptor privilege level* DPL.  Let the kernel set up its GDT, IDT,
note TSS and paging:
break next_test
continue
info gdt
note Two code and two data segments, flat: 0x08/0x10 with DPL 0 for the
note kernel, 0x18/0x20 with DPL 3 for user code.  The DPL is bits 14:13 of
note the descriptor's second doubleword — read here straight from memory:
expect ((*(int *)((int)&gdt + 0x1c) >> 13) & 3) == 3
expect ((*(int *)((int)&gdt + 0x0c) >> 13) & 3) == 0
pause

note *Entering ring 3.*  A kernel enters user mode by returning to it: it
note pushes SS, ESP, EFLAGS, CS and EIP and executes IRET.  CS = 0x1b is GDT
note index 3 with RPL 3, so after IRET the CPL is 3.  Test 1 stops at its
note first instruction:
break t_syscall
continue
info registers cs ss eip esp
expect $cs == 0x1b && $ss == 0x23
expect $_cpl == 3
info rings
pause

note *A system call through a gate.*  Ring 3 cannot call the kernel directly; it
note executes `int 0x80`, and the CPU goes through IDT gate 0x80.  The gate's DPL
note is 3, so ring 3 may use it; its target is ring-0 code.
info idt
expect-output 0x80          int gate 32  0x0008:0x001013f6    3    1  <isr_syscall>
catch trap 0x80
continue
x/i $eip
expect $_cpl == 3
note The CPU is about to execute `int 0x80` in ring 3.  One instruction later:
stepi
info rings
expect $_cpl == 0 && $eip == isr_syscall
note The privilege level changed, so the CPU switched stacks: it loaded
note SS:ESP from the TSS (`ss0`, `esp0`) and pushed the user's SS, ESP,
note EFLAGS, CS and EIP there.  An *interrupt* gate also cleared IF.
info tss
x/5xw $esp
expect $esp == kstack_top - 20
expect *(int *)($esp + 4) == 0x1b && *(int *)($esp + 16) == 0x23
expect $_if == 0
pause

note *Privileged instructions fault in ring 3.*  Test 2 runs `cli` at CPL 3.  CLI
note needs CPL <= IOPL, and IOPL is 0, so the CPU raises a general-protection
note fault, #GP(0), *before* the instruction has any effect.
delete
catch trap #GP
continue
expect-output (trap #GP error=0x0), 0x001020d2 in t_cli ()
focus code
highlight $eip
x/i $eip
expect $eip == t_cli && $_cpl == 3
note Test 3 does the same with `in al, dx` (I/O also needs CPL <= IOPL, and the
note TSS has no I/O permission bitmap to allow it):
continue
expect-output trap #GP error=0x0
x/i $eip
note Test 4 executes `int 0x81` — but that gate's DPL is 0.  A software interrupt
note needs CPL <= gate DPL, so it is a #GP whose error code names the gate:
note `(0x81 << 3) | 2`, where bit 1 says "an IDT entry".
continue
expect-output trap #GP error=0x40a
expect (0x81 << 3 | 2) == 0x40a
pause

note *Page faults from ring 3.*  Paging adds a second check: a page-table
note entry has a user/supervisor bit (U/S) and a read/write bit.  The #PF
note error code says why: bit 0 = the page was present, bit 1 = a write,
note bit 2 = from CPL 3; CR2 holds the address.
delete
catch trap #PF
continue
note Test 9 reads 0x00300000, which is not mapped yet: error 4 (not
note present, read, user).
expect-output trap #PF error=0x4 cr2=0x300000
info pt 0x300000
expect $cr2 == 0x300000
note The kernel maps a zeroed page there and resumes: *demand paging*.
note Test 10 writes a read-only user page: error 7 (present, write, user);
note the kernel makes it writable, as a copy-on-write handler would.
continue
expect-output trap #PF error=0x7 cr2=0x10a000
continue
note Test 11 reads the kernel's GDT from ring 3: present, but U/S = 0 in
note its PTE (no `U` below), so error 5 (present, read, user).  The kernel
note kills the test.
expect-output trap #PF error=0x5 cr2=0x104000
info pt 0x104000
expect-output PTE[260] at 0x00106410 = 0x00104063
expect (*(int *)((int)&page_table + 260 * 4) & 4) == 0
pause

note The last test exits with status 42, and the kernel ends the run:
delete
continue
expect-output kernel: test 12 exited with status 42
expect-output rings: all tests done
note *Summary.*  The CPL lives in `cs`; descriptors and gates carry a DPL;
note the CPU checks them on every segment load, gate and privileged
note instruction, and page tables add the U/S bit.  Next lesson: what
note happens when a *kernel* is not in ring 0.
