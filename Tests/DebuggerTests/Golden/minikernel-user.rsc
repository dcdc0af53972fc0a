# guest: minikernel.elf
# max-instructions: 3000000
# User mode, page faults, a system call, and a guest stopped by the instruction limit.
catch trap #PF
continue
info rings
info registers cr2 cr3 eip esp
info pt $cr2
info symbol $eip
continue
info pt 0x40000000
x/2i $pc
delete
break syscall
continue
info rings
x/2xw $esp
finish
x/i $pc
delete
continue
x/2xw 0xfffff000
