#!/usr/bin/env bash
# make bench: guest MIPS of Ringside beside Unicorn and QEMU on the same
# benchmark loop (demos/bench: ALU, memory read-modify-write, calls, loops;
# 512 M instructions).  Prints figures; never fails because a machine is slow.
set -u
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/ringside}
BENCH=.build/release/ringside-bench
INSNS=$(python3 - <<'PY'
import struct
b = open("demos/build/bench.bin", "rb").read()
it, per, fixed = struct.unpack_from("<3I", b, 16)
print(fixed + it * per)
PY
)
echo "== bench: $INSNS guest instructions per run (demos/build/bench.bin and bench.elf)"
echo
echo "-- Ringside CPU core, in process (release build)"
"$BENCH" demos/build/bench.bin
echo
echo "-- Ringside, whole machine: ringside run bench.elf (multiboot, COM1, debug-exit)"
start=$(date +%s.%N)
"$BIN" run demos/build/bench.elf --stats 2>&1 | grep -E "checksum|MIPS|instructions"
end=$(date +%s.%N)
echo "wall: $(echo "$end - $start" | bc) s"
echo
echo "-- Unicorn (PyPI unicorn), same bytes (bench.bin), no hooks"
python3 demos/bench/unicorn_bench.py demos/build/bench.bin | grep -E "MIPS|seconds|checksum"
echo
if command -v qemu-system-i386 >/dev/null; then
  echo "-- qemu-system-i386 (TCG), bench.elf minus bench-short.elf (boot time removed)"
  q() { local s e; s=$(date +%s.%N); timeout 120 qemu-system-i386 -kernel "$1" -display none -serial null \
        -monitor none -no-reboot -nic none -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >/dev/null 2>&1
        e=$(date +%s.%N); echo "$e - $s" | bc; }
  long=$(q demos/build/bench.elf); short=$(q demos/build/bench-short.elf)
  SHORT=$(python3 - <<'PY'
import struct
b = open("demos/build/bench-short.bin", "rb").read()
it, per, fixed = struct.unpack_from("<3I", b, 16)
print(fixed + it * per)
PY
)
  python3 -c "d=$long-$short; print('seconds: %.3f (boot %.3f)  MIPS: %.0f' % (d, $short, ($INSNS-$SHORT)/d/1e6))"
else
  echo "-- qemu-system-i386 not installed: skipped"
fi
echo
echo "-- The same guest under each technique (ringside run --technique T; wall clock, guest MIPS)"
echo "   bt and vtx should stay near native on code that does not trap (issue 7 aims at 1.5x);"
echo "   this loop calls and returns every 16 instructions, BT's costly case (indirect control flow)."
base=
for t in native bt vtx trap; do
  s=$(date +%s.%N)
  "$BIN" run demos/build/bench.elf --technique "$t" >/dev/null 2>&1
  e=$(date +%s.%N)
  python3 - "$t" "$s" "$e" "$INSNS" "${base:-0}" <<'PY'
import sys
t, s, e, n, base = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
d = e - s
ratio = "" if base == 0 else "  %.2fx native's time" % (d / base)
print("%-7s %6.2f s  %5.0f MIPS%s" % (t, d, n / d / 1e6, ratio))
PY
  if [ -z "$base" ]; then base=$(python3 -c "print($e - $s)"); fi
done
