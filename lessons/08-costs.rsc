# Lesson 8: the cost table — why each technique wins where it wins
# guest: demos/build/nano-none.elf
# technique: native
# max-instructions: 20000000
#
# Adams & Agesen's nanobenchmarks under every technique, measured here in
# Ringside's cost model: each nano guest performs one operation 10,000
# times; the empty loop (nano-none) is subtracted.  `make nanobench` prints
# the whole table and writes it as an SVG chart.  About 15 minutes.
# References: Adams & Agesen, ASPLOS 2006, §6.1 (the nanobenchmarks on a
# Pentium 4 672) and their cost figures in Sources/Monitors/CostModel.swift;
# demos/nanobench/nanobench.asm.

note *Lesson 8 — the cost table.*
note Adams and Agesen (2006) compared VMware's binary translator with the
note first VT-x on seven *nanobenchmarks*, each one operation in a loop.
note Neither won everywhere.  Ringside charges every event a modeled cost
note from their figures; here we measure four operations per technique.
note Method: run the empty loop, remember its cycles, run the operation's
note guest, subtract, divide by the 10,000 iterations.  (What a run does
note only once nearly cancels; `make nanobench` cancels it exactly by
note running every guest with two counts.)
pause

note *Native.*
continue
expect-output nanobench none    : 10000 iterations
set $none = $_cycles
file demos/build/nano-in.elf
continue
set $in_native = ($_cycles - $none) / 10000
file demos/build/nano-syscall.elf
continue
set $syscall_native = ($_cycles - $none) / 10000
file demos/build/nano-ptemod.elf
continue
set $ptemod_native = ($_cycles - $none) / 10000
file demos/build/nano-pgfault.elf
continue
set $pgfault_native = ($_cycles - $none) / 10000
print $in_native
print $syscall_native
print $ptemod_native
print $pgfault_native
note `in` goes out on the bus to a device: 3,209 cycles, the paper's native
note figure.  A system call and a PTE write cost a few instructions; a page
note fault about 1,000 (the exception and the handler's IRET).
expect $in_native > 3000 && $syscall_native < 10 && $ptemod_native < 10
pause

note *Binary translation.*
technique bt
file demos/build/nano-none.elf
continue
set $none = $_cycles
file demos/build/nano-in.elf
continue
set $in_bt = ($_cycles - $none) / 10000
file demos/build/nano-syscall.elf
continue
set $syscall_bt = ($_cycles - $none) / 10000
file demos/build/nano-ptemod.elf
continue
set $ptemod_bt = ($_cycles - $none) / 10000
file demos/build/nano-pgfault.elf
continue
set $pgfault_bt = ($_cycles - $none) / 10000
print $in_bt
print $syscall_bt
print $ptemod_bt
print $pgfault_bt
note `in` becomes a callout to the monitor's device model — cheaper than
note the real bus (the paper's BT was 15 times faster than native; Ringside
note charges a whole callout).  But the system call now costs a callout
note too: the kernel's IRET back to ring 3 cannot run as written.
expect $in_bt < $in_native
expect $syscall_bt > 100 * $syscall_native
stats
pause

note *VT-x with shadow paging*, as in 2006:
technique vtx shadow
file demos/build/nano-none.elf
continue
set $none = $_cycles
file demos/build/nano-in.elf
continue
set $in_vtx = ($_cycles - $none) / 10000
file demos/build/nano-syscall.elf
continue
set $syscall_vtx = ($_cycles - $none) / 10000
file demos/build/nano-ptemod.elf
continue
set $ptemod_vtx = ($_cycles - $none) / 10000
file demos/build/nano-pgfault.elf
continue
set $pgfault_vtx = ($_cycles - $none) / 10000
print $in_vtx
print $syscall_vtx
print $ptemod_vtx
print $pgfault_vtx
note The system call runs at native speed: the guest really is in ring 0
note and 3, nothing exits.  Everything the VMM must see is a full VM exit
note (12,000 cycles): `in` one exit; a PTE write a #PF exit (the page table
note is write-protected for the shadow) and an INVLPG exit; a true page
note fault an exit plus an injection.
expect $syscall_vtx < 10
expect $in_vtx > $in_native && $in_vtx > $in_bt
expect $ptemod_vtx > 5 * $ptemod_bt
expect $pgfault_vtx > $pgfault_bt && $pgfault_bt > $pgfault_native
stats
pause

note *VT-x with EPT*, as from 2008:
technique vtx ept
file demos/build/nano-none.elf
continue
set $none = $_cycles
file demos/build/nano-ptemod.elf
continue
set $ptemod_ept = ($_cycles - $none) / 10000
file demos/build/nano-pgfault.elf
continue
set $pgfault_ept = ($_cycles - $none) / 10000
print $ptemod_ept
print $pgfault_ept
expect $ptemod_ept < 10 && $pgfault_ept < $pgfault_native + 10
note With EPT the guest's page tables are its own again: PTE writes and
note page faults cost what they cost natively (a TLB miss costs more — a
note two-dimensional walk — which these loops barely see).
pause

note *Who wins where* (the shape of Adams and Agesen's figure):
note - `syscall`: VT-x (native speed) beats BT (a callout per return).
note - `in`: BT beats VT-x nearly ten times over; VT-x pays a full exit.
note - `ptemod`, `pgfault`: BT beats first-generation VT-x, whose shadow
note   paging turns every page-table event into exits; EPT fixes that.
note Their verdict for 2006: hardware support "fails to provide an
note unambiguous performance advantage".  The full table, with `cr`,
note `callret` and `divzero`, comes from `make nanobench`, which also draws
note it as an SVG chart (`ringside compare GUESTS --chart FILE.svg`).
compare
expect-output vtx-ept
