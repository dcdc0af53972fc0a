# guest: hello.elf
# The smallest guest: registers, memory in every x format, print, stepping.
info registers
info registers eip eflags al ax
x/4xw 0x100000
x/8xb _start
x/4xh _start
x/2xg 0x100000
x/3dw 0x100000
x/3uw 0x100000
x/2ow 0x100000
x/2tb _start
x/2a 0x100000
x/6c message
x/s message
x/3i $pc
x/2i
p $eax
p/x $eax
p/t 10
p/o 8
p/c 65
p/d 'A'
p/z 42
p/a _start.wait
p $eflags
p $sp
p $pc
p _start
p message
p (char *) message
p COM1_LSR
p *(int *) 0x100000
p/x {short} 0x100004
p $1 + 1
p $
p $$2
output $eax
echo \n
break _start.wait
tbreak _start.done
info breakpoints
continue
continue 3
info breakpoints
display/i $pc
display/x $al
info display
stepi
nexti 2
undisplay 1
delete 1
continue
info breakpoints
continue
p $_exitcode
stats
