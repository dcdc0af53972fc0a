# guest: minikernel-pv.elf
# technique: pv
# max-instructions: 20000000
# The paravirtual minikernel: the guest asks the hypervisor (int 0x82)
# where the native build runs privileged instructions.
info rings
catch hypercall
continue
info vcpu
continue
traps --last 2
delete
break arch_set_pte
continue
finish
traps --kind hypercall --last 1
stats
