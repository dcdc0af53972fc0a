# guest: minikernel.elf
# Watchpoints on a C kernel's globals: watch (stops only on a change), rwatch,
# awatch, the shared table, conditions, ignore counts, stepi onto an access.
watch nfree
info watchpoints
continue
x/i $pc
continue
x/2i $pc-6
ignore 1 2
continue
disable 1
rwatch ticks
awatch *(char *) &ticks
watch *(int *) &ticks if *(int *) &ticks == 3
info breakpoints
continue
delete 2 3
continue
p *(int *) &ticks
info watchpoints
delete
awatch current
continue
stepi 100000
x/i $pc-5
continue
info breakpoints
delete
continue
