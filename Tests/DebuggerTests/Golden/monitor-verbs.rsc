# guest: hello.elf
# Virtualization verbs under native: what works, and what needs a monitor.
technique
info rings
stats
info vcpu
