# guest: rings.elf
# int 0x80 as a trap catch, nexti over INT in user code, finish from the kernel.
catch trap 0x80
continue
x/2i $pc
info registers eax ecx edx
info rings
delete
nexti
info rings
x/i $pc
break isr_syscall
continue
info rings
finish
info rings
stepi 3
info registers eip
