# guest: hello.elf
# Watchpoints need the MMU access hook: parsed, then refused.
watch *(int *) 0x200000
