# guest: minikernel.elf
# A C kernel: breakpoints on functions, finish, nexti over calls, until, advance.
break kmain
continue
info symbol $pc
disassemble kmain,+24
x/3i $pc
until
until
advance console_init
finish
nexti
x/i $pc
tbreak console_write
break kprintf if $esp < 0x10b000
info breakpoints
continue
finish
p $eax
continue
info breakpoints
ignore 3 2
continue
info breakpoints
disable 3
enable once 1
condition 3 $eax == 1234
info breakpoints
disassemble /r kmain,kmain+8
x/s *(char **) ($esp + 4)
stats
