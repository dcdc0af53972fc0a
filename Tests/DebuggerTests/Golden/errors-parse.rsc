# guest: hello.elf
# A parse error reports its column.
p 1 + 2
x/4xw (0x100000
echo never\n
