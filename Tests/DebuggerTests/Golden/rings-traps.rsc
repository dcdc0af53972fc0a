# guest: rings.elf
# Exceptions, rings and the system tables of a guest with paging.
catch trap #GP
info breakpoints
continue
info registers eip cs ss eflags
x/i $pc
info rings
info cpu
info gdt
info idt
info tss
info pt $eip
info pt 0x300000
info pt 0
info symbol $eip
catch ring
continue
info rings
x/6xw $esp
continue
delete
catch trap #PF
catch trap #BP
info breakpoints
continue
stepi
info rings
x/6xw $esp
continue
info registers cr2
info pt $cr2
continue
stats
