# guest: minikernel.elf
# technique: trap
# The same watchpoints with the kernel deprivileged at CPL 1: the watched
# addresses are guest-linear, the CPU walks the monitor's shadow tables, and
# the stops are native's.
watch nfree
continue
continue
awatch current
delete 1
info breakpoints
continue
x/i $pc-6
continue
info watchpoints
