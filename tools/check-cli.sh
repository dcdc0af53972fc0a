#!/usr/bin/env bash
# End-to-end checks of `ringside run` (DESIGN.md "Command line", "How a run
# ends") for `make test`: every exit status, the one-line refusals, --stats,
# --serial-input, --append, --flat --dump-state json, Ctrl-C and streamed
# serial output.  Guests: demos/build/hello.elf and tests/guests/*.bin.
#   tools/check-cli.sh [RINGSIDE]     (default .build/debug/ringside)
# Prints "ok"/"FAIL" lines and ends with "cli: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/ringside}
G=tests/guests
pass=0; fail=0
ok()  { echo "ok   $*"; pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }

if [ ! -x "$BIN" ]; then
  echo "FAIL $BIN is not an executable (build first)"
  echo "cli: 0 passed, 1 failed"; exit 1
fi
T=$(mktemp -d /tmp/ringside-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT

# run NAME ARGS...: runs ringside with a 60 s limit; sets $status, $T/NAME.out, $T/NAME.err.
run() {
  local name=$1; shift
  timeout 60 "$BIN" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err"
  status=$?
}
# expect_status NAME WANT DESCRIPTION
expect_status() {
  if [ "$status" = "$2" ]; then ok "$3 (status $2)"
  else bad "$3: status $status, want $2"; head -c 600 "$T/$1.err"; fi
}
lines() { wc -l <"$1" | tr -d ' '; }

# ---- the committed flat test guests (NAME.asm -> nasm -f bin -> NAME.bin) are what their sources build to
if command -v nasm >/dev/null; then
  mkdir -p "$T/rebuild"
  same=1
  for src in $G/*.asm; do
    n=$(basename "$src" .asm)
    [ -f "$G/$n.bin" ] || continue
    nasm -f bin -I $G/ -o "$T/rebuild/$n.bin" "$src" 2>"$T/rebuild/$n.log" && cmp -s "$T/rebuild/$n.bin" "$G/$n.bin" \
      || { same=0; echo "  $n.bin differs from $n.asm"; head -3 "$T/rebuild/$n.log"; }
  done
  [ $same = 1 ] && ok "tests/guests/*.bin rebuild from their sources" || bad "tests/guests/*.bin are stale (make -C tests/guests)"
else
  echo "skip rebuilding tests/guests: nasm missing"
fi

# ---- how a run ends
run hello run demos/build/hello.elf
expect_status hello 33 "debug-exit 0x10 from demos/build/hello.elf"
cmp -s "$T/hello.out" demos/expected/hello.out && ok "hello.elf serial output is QEMU's" || bad "hello.elf serial output differs from demos/expected/hello.out"

# ---- vtx memory virtualization on the command line; compare's chart
run paging run demos/build/hello.elf --technique vtx --paging ept
expect_status paging 33 "run --technique vtx --paging ept"
run pagingbad run demos/build/hello.elf --paging ept
expect_status pagingbad 64 "--paging without --technique vtx is a usage error"
run chart compare demos/build/hello.elf --paging ept --chart "$T/compare.svg"
expect_status chart 0 "compare --chart"
head -c 5 "$T/compare.svg" 2>/dev/null | grep -q '<?xml' && grep -q 'vtx-ept' "$T/compare.svg" && ! grep -q 'vtx-shadow' "$T/compare.svg" \
  && ok "compare --chart writes an SVG bar chart (one bar per technique; --paging ept leaves out vtx-shadow)" \
  || bad "compare --chart: no SVG, or the wrong bars"

run halt run $G/halt.bin
expect_status halt 0 "HLT with IF = 0 is \"halted\""
grep -q "halt: going to sleep" "$T/halt.out" && ok "halt.bin printed before halting" || bad "halt.bin output missing"
[ ! -s "$T/halt.err" ] && ok "a halted run says nothing on stderr" || { bad "halted run wrote to stderr:"; cat "$T/halt.err"; }

run triple run $G/triple.bin
expect_status triple 2 "triple fault"
grep -qi "triple fault" "$T/triple.err" && ok "triple fault reason on stderr: $(head -1 "$T/triple.err")" || { bad "no triple-fault reason on stderr"; cat "$T/triple.err"; }
# Under bt the CPU dies in the translation cache; the message gives the guest's EIP.
run triplebt run $G/triple.bin --technique bt
expect_status triplebt 2 "triple fault under bt"
grep -q "at eip $(grep -o 'at eip 0x[0-9a-f]*' "$T/triple.err" | cut -d' ' -f3)" "$T/triplebt.err" && ok "bt: the triple fault names the guest's EIP, as native does" || { bad "bt: triple-fault EIP differs from native's"; cat "$T/triplebt.err"; }

run limit run $G/loop.bin --max-instructions 100000
expect_status limit 4 "--max-instructions 100000 on a looping guest"
grep -qi "instruction limit" "$T/limit.err" && ok "instruction limit reported on stderr" || bad "no instruction-limit message"
grep -q "loop: spinning forever" "$T/limit.out" && ok "output before the limit reached stdout" || bad "loop.bin output missing"

# ---- usage errors: 64
usage() {
  local why=$1; shift
  run usage "$@"
  if [ "$status" = 64 ] && [ -s "$T/usage.err" ]; then ok "usage error 64: $why"
  else bad "usage error ($why): status $status, stderr: $(head -c 300 "$T/usage.err")"; fi
}
usage "unknown option"                 run demos/build/hello.elf --frobnicate
usage "--memory 0"                     run demos/build/hello.elf --memory 0
usage "--memory 99999"                 run demos/build/hello.elf --memory 99999
usage "--dump-state xml"               run --flat $G/flat.bin --dump-state xml
usage "--load-address without --flat"  run demos/build/hello.elf --load-address 0x1000
usage "bad number for --max-instructions" run demos/build/hello.elf --max-instructions lots
usage "bad --dump-memory range"        run --flat $G/flat.bin --dump-state json --dump-memory 0x1000
usage "unknown technique"              run demos/build/hello.elf --technique magic
usage "no guest"                       run

# ---- unusable guest files: 65, one line naming the file
refuse() {
  local why=$1 file=$2 text=$3
  run refuse run "$file"
  if [ "$status" != 65 ]; then bad "$why: status $status, want 65"; cat "$T/refuse.err"; return; fi
  if [ "$(lines "$T/refuse.err")" = 1 ] && grep -qF -- "$file" "$T/refuse.err" && grep -qi -- "$text" "$T/refuse.err"; then
    ok "$why: 65, \"$(cat "$T/refuse.err")\""
  else bad "$why: want one line naming $file and \"$text\", got:"; cat "$T/refuse.err"; fi
}
printf 'just some text, no kernel here\n' >"$T/notes.txt"
refuse "not ELF, no multiboot header" "$T/notes.txt" "not an ELF file"
head -c 40 demos/build/hello.elf >"$T/truncated.elf"
refuse "truncated ELF header" "$T/truncated.elf" "truncated"
head -c 100 demos/build/hello.elf >"$T/short-ph.elf"
refuse "truncated program headers" "$T/short-ph.elf" "truncated program headers"
head -c 4200 demos/build/hello.elf >"$T/cut.elf"
refuse "segment past the end of the file" "$T/cut.elf" "past the end of the file"
python3 - "$T" <<'EOF'
import struct, sys
t = sys.argv[1]
b = bytearray(open('demos/build/hello.elf', 'rb').read())
phoff = struct.unpack_from('<I', b, 28)[0]
bad = bytearray(b); struct.pack_into('<I', bad, phoff + 12, 0x7FF0000)      # p_paddr at 128 MiB - 64 KiB
open(t + '/outside.elf', 'wb').write(bad)
mb = b.find(struct.pack('<I', 0x1BADB002))
bad = bytearray(b); bad[mb + 8] ^= 0xFF                                       # checksum
open(t + '/checksum.elf', 'wb').write(bad)
bad = bytearray(b); struct.pack_into('<II', bad, mb + 4, 4, (-(0x1BADB002 + 4)) & 0xFFFFFFFF)   # video mode
open(t + '/video.elf', 'wb').write(bad)
EOF
refuse "segment outside RAM" "$T/outside.elf" "outside RAM"
refuse "bad multiboot checksum" "$T/checksum.elf" "bad checksum"
refuse "unsupported multiboot flags" "$T/video.elf" "unsupported"
: >"$T/empty.elf"
refuse "empty file" "$T/empty.elf" "empty"
mkdir -p "$T/a-directory"
refuse "a directory" "$T/a-directory" "directory"

# ---- missing files: 66
run missing run "$T/no-such-kernel.elf"
if [ "$status" = 66 ] && [ "$(lines "$T/missing.err")" = 1 ] && grep -qF "$T/no-such-kernel.elf" "$T/missing.err"; then
  ok "missing guest: 66, \"$(cat "$T/missing.err")\""
else bad "missing guest: status $status, stderr: $(cat "$T/missing.err")"; fi
run missing-input run $G/echo.bin --serial-input "$T/no-such-input"
if [ "$status" = 66 ] && grep -qF "$T/no-such-input" "$T/missing-input.err"; then ok "missing --serial-input file: 66"
else bad "missing --serial-input file: status $status, stderr: $(cat "$T/missing-input.err")"; fi

# ---- --stats
run stats run $G/triple.bin --stats
stats_ok=1
for line in "instructions retired: [0-9]+" "virtual time: +[0-9.e-]+ s" "wall time: +[0-9.e-]+ s" "MIPS: +[0-9.e-]+" "exceptions #UD: 1" "exceptions #GP: 2"; do
  grep -Eq "^$line\$" "$T/stats.err" || { stats_ok=0; echo "  missing on stderr: $line"; }
done
grep -q "instructions retired" "$T/stats.out" && { stats_ok=0; echo "  --stats went to stdout"; }
[ $stats_ok = 1 ] && ok "--stats: instructions, virtual time, wall time, MIPS, exceptions by vector on stderr" || { bad "--stats output:"; cat "$T/stats.err"; }

# ---- --serial-input
run echo run $G/echo.bin --serial-input $G/echo.in
expect_status echo 0 "--serial-input: echo guest halts after '.'"
cmp -s "$T/echo.out" $G/expected/echo.out && ok "--serial-input: every byte echoed, as under QEMU" || { bad "--serial-input: output differs from $G/expected/echo.out:"; od -c "$T/echo.out" | head -5; }

# ---- --append and the multiboot hand-off
run append run $G/mbinfo.bin --append "hello world"
expect_status append 33 "mbinfo.bin"
grep -q "^cmdline=\[$G/mbinfo.bin hello world\]" "$T/append.out" && ok "--append reaches the guest: $(grep -a cmdline= "$T/append.out" | tr -d '\r')" || { bad "--append: command line not seen by the guest"; cat "$T/append.out"; }
if diff $G/expected/mbinfo.out "$T/append.out" >"$T/mbinfo.diff"; then
  ok "multiboot hand-off (registers, MBI, memory map) identical to QEMU's"
else bad "multiboot hand-off differs from QEMU's ($G/expected/mbinfo.out):"; cat "$T/mbinfo.diff"; fi
run noappend run $G/mbinfo.bin
grep -q "^cmdline=\[$G/mbinfo.bin \]" "$T/noappend.out" && ok "no --append: command line \"PATH \" as QEMU forms it" || bad "no --append: $(grep -a cmdline= "$T/noappend.out")"

# ---- --flat ... --dump-state json
run flat run --flat $G/flat.bin --load-address 0x10000 --dump-state json --dump-memory 0x20000:6 --dump-memory 0x1fffffc:4
expect_status flat 0 "--flat flat.bin --dump-state json"
if python3 - "$T/flat.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
want = {"eax": 0x12345678, "ebx": 1, "ecx": 0, "edx": 10, "esi": 0, "edi": 0, "ebp": 0,
        "esp": 0x2000000 - 4, "eip": 0x1003A, "eflags": 0x13, "instructions": 29, "stop": "halted"}
errors = [f"{k} = {d.get(k)!r}, want {v!r}" for k, v in want.items() if d.get(k) != v]
mem = d.get("memory")
if mem != [{"address": "0x00020000", "hex": "efbeadde3412"}, {"address": "0x01fffffc", "hex": "78563412"}]:
    errors.append(f"memory = {mem!r}")
if errors:
    print("  " + "\n  ".join(errors)); sys.exit(1)
EOF
then ok "--dump-state json: registers, eflags 0x13, 29 instructions, stop \"halted\", --dump-memory hex"
else bad "--dump-state json: $(head -c 400 "$T/flat.out")"; fi

run ud2 run --flat $G/ud2.bin --load-address 0x10000 --dump-state json
if python3 - "$T/ud2.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ok = d.get("stop") == "exception 0x06" and d.get("eip") == 0x10005 and d.get("eax") == 0xABCD and d.get("memory") == []
sys.exit(0 if ok else 1)
EOF
then ok "--flat guest that faults: stop \"exception 0x06\" at the UD2"
else bad "--flat ud2.bin: $(head -c 400 "$T/ud2.out")"; fi

# ---- Ctrl-C stops a runaway guest cleanly; serial output is streamed
"$BIN" run $G/loop.bin --stats </dev/null >"$T/sigint.out" 2>"$T/sigint.err" &
pid=$!
sleep 0.5
if grep -q "loop: spinning forever" "$T/sigint.out"; then ok "serial output is on stdout while the guest still runs"
else bad "serial output not streamed: nothing on stdout after 0.5 s"; fi
kill -INT $pid 2>/dev/null
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  bad "Ctrl-C: still running 5 s after SIGINT (killed)"
else
  wait $pid; status=$?
  if [ "$status" = 130 ] && grep -qi "interrupted" "$T/sigint.err"; then
    ok "Ctrl-C: status 130, \"$(grep -i interrupted "$T/sigint.err" | head -1)\""
  else bad "Ctrl-C: status $status, stderr: $(head -c 300 "$T/sigint.err")"; fi
  grep -q "loop: spinning forever" "$T/sigint.out" && ok "Ctrl-C: the output printed before is kept" || bad "Ctrl-C: earlier output lost"
  grep -q "^instructions retired: [1-9]" "$T/sigint.err" && ok "Ctrl-C: --stats still printed" || bad "Ctrl-C: no --stats after SIGINT"
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
