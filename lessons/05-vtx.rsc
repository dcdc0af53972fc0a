# Lesson 5: hardware-assisted virtualization (Intel VT-x)
# guest: demos/build/sensitive.elf
# technique: vtx
# max-instructions: 20000000
#
# Root and non-root operation; the VMCS controls; VM exits with their basic
# reasons and exit qualifications; what an exit costs.  The sensitive demo
# shows the holes of lesson 3 closed; the rings demo shows CR3, CR0, I/O
# and INVLPG exits.  About 15 minutes.  References: Intel SDM Vol. 3C
# ch. 24 (VMCS), §25.1 (instructions that cause VM exits), §27.2.1 (exit
# qualifications), App. C (basic exit reasons); Adams & Agesen, ASPLOS 2006,
# §4 and §6 (first-generation VT-x and its exit costs).

note *Lesson 5 — hardware-assisted virtualization.*
note Intel VT-x (2005) gives the processor two modes of operation: VMX
note *root* operation for the monitor and *non-root* operation for guests.
note This lesson starts with the first generation: VT-x without EPT, so
note the monitor still keeps shadow page tables (Ringside's default is EPT).
technique vtx shadow
note In non-root operation the guest kernel runs at a real CPL 0 — no ring
note compression — and a *VMCS* (virtual-machine control structure) tells
note the processor which instructions and events must leave the guest: a
note *VM exit* to the monitor, which handles it and resumes the guest.
info rings
expect $_cpl == 0 && $_guest_cpl == 0
pause

note *The VMCS* of this monitor, a first-generation one with shadow paging
note (as Adams and Agesen measured it):
info vmcs
expect-output HLT exiting, INVLPG exiting, CR3-load exiting
expect-output exception bitmap     0x00004000
note - pin-based: external interrupts exit (the devices are the monitor's);
note - primary: HLT, INVLPG and CR3 loads and stores exit; I/O and MSR
note   accesses exit as their bitmaps say — here every port;
note - exception bitmap: only #PF (vector 14), for the shadow page tables;
note - CR0 guest/host mask: PE, WP and PG belong to the monitor; when the
note   guest reads CR0 it gets those bits from the *read shadow*.
note Nothing here mentions SGDT, POPF or PUSH CS.
pause

note *No more holes.*  The sensitive demo, which leaked under `trap`:
continue
expect-output sgdt: base=0x00101000
expect-output popf set IF=1 IOPL=3: eflags=0x00003202 IF=1 IOPL=3
expect-output push cs: 0x0008
expect-output lar  0x0008: ZF=1 ar=0x00c09b00
expect $_silent == 0 && $_emulated == 0
note Byte for byte the native output.  SGDT reads the guest's own GDTR
note (the real one: the monitor's tables are in root operation, out of
note the guest's sight), POPF may set IF and IOPL at CPL 0, CS holds RPL 0.
note VT-x restores Popek and Goldberg's condition — everything that must
note be intercepted *can* be made to exit — instead of hiding ring 1.
stats
expect-output vmexit
note Every exit here is I/O (reason 30): the serial console is emulated.
pause

note *A VM exit up close.*  The rings demo turns paging on with MOV CR3
note and MOV CR0.  Load it and catch the exits with basic reason 28,
note control-register access:
file demos/build/rings.elf
focus traps
catch exit 28
continue
traps --kind vmexit --last 1
expect $_exit_reason == 28 && $_exit_qualification == 3
note The catchpoint stops after the monitor handled the exit, so EIP is
note past `mov cr3,eax`.  The *exit qualification* (SDM §27.2.1) says which
note access it was: bits 3:0 the CR (3), bits 5:4 the type (0: MOV to CR),
note bits 11:8 the register (0: EAX).
info vmcs
expect-output reason 28 CR_ACCESS
expect-output MOV to CR, CR3, register eax
continue
expect $_exit_reason == 28 && $_exit_qualification == 0
traps --kind vmexit --last 1
note MOV to CR0 exited because it sets PG, a bit in the CR0 guest/host
note mask whose new value differs from the read shadow.  A write that left
note the masked bits as the shadow has them would not exit at all.
pause

note *I/O exits.*  Port accesses exit by the I/O bitmaps, reason 30:
delete
catch exit IO
continue
expect $_exit_reason == 30
info vmcs
expect-output IO_INSTRUCTION
note Qualification: bits 2:0 the size minus 1, bit 3 the direction (1 is
note IN), bit 6 an immediate port, bits 31:16 the port — COM1 is 0x3f8.
expect ($_exit_qualification >> 16) >= 0x3f8 && ($_exit_qualification >> 16) <= 0x3ff
pause

note *What exits cost.*  Run the rings demo to its end:
delete
continue
expect-output rings: all tests done
stats
expect $_vmexit > 3000
note Ringside charges 12,000 modeled cycles per exit: on the first VT-x
note processors (Pentium 4, 2005) one exiting event cost on the order of
note 10^4 cycles end to end (Adams & Agesen).  Correct, but not cheap:
note nearly all of this run's cost is exits.
expect $_vmexit * 12000 > 100 * $_instructions
note The same guest under every technique that can run it:
compare
expect-output vtx-shadow
note Later processors cut the round trip to a few hundred cycles, and EPT
note (lesson 7) removed the page-table exits.
