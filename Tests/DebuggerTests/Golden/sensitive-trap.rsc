# guest: sensitive.elf
# technique: trap
# sensitive.elf under trap-and-emulate with ring compression: the kernel
# believes it runs in ring 0, the CPU runs it in ring 1 on the monitor's
# tables and shadow page tables.  What traps, what does not, and where the
# guest's memory really is.
technique
break _start.reload_cs
continue
info rings
info vcpu
info cpu
si
x/2i $pc
traps --kind emulated --last 3
catch silent
continue
traps --kind silent --last 5
info shadow $pc
info pt 0x100990
x/s 0x100990
delete
tbreak *0x10021e
continue
x/i 0x100217
x/6xb 0x102868
traps --kind silent --last 1
info gdt
stats
catch hypercall
