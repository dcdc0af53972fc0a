# guest: hello.elf
# The first error ends the script: nothing after it runs.
break _start.wait
info breakpoints
continue
p nosuchsymbol + 1
echo this line is never reached\n
