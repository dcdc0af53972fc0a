# guest: hello.elf
# Writing registers and memory; displays; convenience variables and history.
set $eax = 42
p $eax
set var $ax = 0x1234
p/x $eax
set $al = 0xff
p/x $eax
set $ah = 1
p/x $ax
set {int} 0x200000 = 0xdeadbeef
x/xw 0x200000
set var *(char *) 0x200000 = 'A'
x/4xb 0x200000
p *(unsigned char *) 0x200001
p *(short *) 0x200002
p ((int *) 0x200000)[0] == 0xdeadbe41
set $n = 3
p $n * $n + 1
p $n += 4
p $nothing
p 7 / 2 * 2 + 7 % 2
p -7 / 2
p (unsigned) -1
p (unsigned char) 0x1ff
p 1 << 31
p 0x80000000 >> 4
p (1 ? 10 : 20) | 5
p !0 && !!3 || 0
display $eax
display/x $ebx
display/2xw $sp
info display
stepi
disable display 2
stepi
undisplay
info display
set $eip = _start.done
x/i $pc
continue
