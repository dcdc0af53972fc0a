# guest: sensitive.elf
# Call gates, an LDT and an interrupt gate in the tables; a far call stepped.
break call_target
break int_target
continue
info gdt
info idt
info registers cs ss
x/2xw $esp
p/x *(int *) ($esp + 4)
continue
x/3xw $esp
info symbol *(int *) $esp
finish
technique native
info breakpoints
continue
technique
info registers eip
