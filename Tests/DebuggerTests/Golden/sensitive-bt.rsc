# guest: sensitive.elf
# technique: bt
# The sensitive demo under binary translation: breakpoints and steps in
# guest terms while the CPU runs the translation cache; the rewritten
# instructions; no silent event.
info registers eip
break _start.reload_cs
continue
stepi
x/2i $pc
translate _start
tbreak _start.after_iret
continue
traps --kind callout --last 3
traps --kind silent
info tc
stats
