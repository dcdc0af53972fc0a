# guest: hello.elf
# After the guest has ended, running it again is an error; looking is not.
continue
info registers eip
p $_exitcode
stepi
