#!/usr/bin/env bash
# The gdb remote stub against a real gdb (Debian `gdb`): `ringside gdb
# demos/build/hello.elf --port 0` in the background, then `gdb -batch`
# sessions whose own output is checked:
#   1. connect (stopped at the entry), break on a symbol, continue, a software
#      watchpoint on $esi (gdb single-steps through `s`), x/4xw $esp, stepi,
#      info registers, monitor info rings, detach;
#   2. a second connection finds the guest where the first left it, patches
#      `jmp $` over the code, continues, is interrupted with Ctrl-C (SIGINT to
#      gdb, 0x03 on the wire), and `kill` ends the stub;
#   3. a fresh stub run to the guest's debug-exit: gdb sees the exit code and
#      the stub exits with the run's status once gdb has gone;
#   4. hardware watchpoints (Z2, Z4) on minikernel's C globals: `watch` on the
#      free-frame count, continue twice (gdb reports old and new values),
#      `awatch` on the tick count, kill.
#   tools/check-gdb.sh [RINGSIDE]     (default .build/debug/ringside)
# Prints "ok"/"FAIL" lines and ends with "gdb: N passed, M failed".
# Every wait is bounded; nothing here can hang.
set -u
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/ringside}
GUEST=demos/build/hello.elf
pass=0; fail=0
ok()  { echo "ok   $*"; pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }
finish() { echo "gdb: $pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

for need in "$BIN" "$GUEST"; do
  [ -e "$need" ] || { bad "$need is missing (build it first)"; finish; }
done
command -v gdb >/dev/null || { bad "gdb is not installed (apt-get install gdb)"; finish; }

T=$(mktemp -d /tmp/ringside-gdb.XXXXXX)
STUB_PID=
cleanup() {
  [ -n "$STUB_PID" ] && kill "$STUB_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

# start_stub NAME: ringside gdb on a free port (--port 0); sets STUB_PID and PORT.
start_stub() {
  local name=$1
  # shellcheck disable=SC2086  # $STUB_ARGS is a list of options
  timeout 120 "$BIN" gdb "$GUEST" --port 0 ${STUB_ARGS:-} >"$T/$name.stub.out" 2>"$T/$name.stub.err" </dev/null &
  STUB_PID=$!
  PORT=
  for _ in $(seq 100); do
    PORT=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$T/$name.stub.err" 2>/dev/null | sed 's/.*://')
    [ -n "$PORT" ] && return 0
    kill -0 "$STUB_PID" 2>/dev/null || break
    sleep 0.1
  done
  bad "$name: the stub did not report a listening port"; cat "$T/$name.stub.err"
  return 1
}

# wait_stub SECONDS: waits for the stub to exit; sets STUB_STATUS ("running" if it did not).
wait_stub() {
  for _ in $(seq $(( $1 * 10 ))); do
    if ! kill -0 "$STUB_PID" 2>/dev/null; then
      wait "$STUB_PID"; STUB_STATUS=$?; STUB_PID=; return 0
    fi
    sleep 0.1
  done
  STUB_STATUS=running
}

# gdb_run NAME ARGS...: gdb -batch on the guest's symbols, 60 s at most.
gdb_run() {
  local name=$1; shift
  timeout -k 10 60 gdb -q -batch -nx -ex 'set architecture i386' -ex "target remote 127.0.0.1:$PORT" \
    "$@" "$GUEST" </dev/null >"$T/$name.out" 2>&1
  GDB_STATUS=$?
}

# expect NAME REGEX DESCRIPTION: gdb's output of session NAME has a line matching REGEX.
expect() {
  if grep -Eq -- "$2" "$T/$1.out"; then ok "$3"
  else bad "$3 (no line matching /$2/ in gdb's output)"; SHOW=1; fi
}

sym() { nm "$GUEST" | awk -v s="$1" '$3 == s { print "0x" $1 }'; }
hexnum() { printf '0x%x' "$1"; }
START=$(hexnum "$(sym _start)"); NEXT=$(hexnum "$(sym _start.next)"); DONE=$(hexnum "$(sym _start.done)")
MESSAGE=$(( $(sym message) ))
[ "$START" != 0x0 ] && [ "$DONE" != 0x0 ] || { bad "cannot read symbols of $GUEST with nm"; finish; }
pad8() { printf '0x%08x' "$1"; }

# ---- session 1: breakpoints, watchpoint, memory, stepping, registers, monitor
start_stub s1 || finish
if command -v ss >/dev/null; then
  ss -Hltn "sport = :$PORT" | grep -q "127.0.0.1:$PORT" && ! ss -Hltn "sport = :$PORT" | grep -Eq "(\*|0\.0\.0\.0|\[::\]):$PORT" \
    && ok "the stub listens on 127.0.0.1:$PORT only" || bad "the stub is not bound to 127.0.0.1 only: $(ss -Hltn "sport = :$PORT")"
fi
SHOW=0
gdb_run s1 \
  -ex 'info registers eip' \
  -ex 'break _start.next' -ex continue \
  -ex delete -ex 'watch $esi' -ex continue \
  -ex delete -ex 'break _start.done' -ex continue \
  -ex 'x/4xw $esp' \
  -ex stepi \
  -ex 'info registers' \
  -ex 'monitor info rings' \
  -ex 'monitor info stop' \
  -ex detach
[ "$GDB_STATUS" = 0 ] && ok "session 1: gdb exited 0" || { bad "session 1: gdb exited $GDB_STATUS"; SHOW=1; }
expect s1 "^eip +$START +$START <_start>" "stopped at the entry point ($START <_start>)"
expect s1 "^Breakpoint 1, $(pad8 "$NEXT") in _start\.next \(\)" "break _start.next hit at $NEXT"
expect s1 "^Watchpoint 2: \\\$esi" "watch \$esi set (a software watchpoint: gdb single-steps)"
expect s1 "^Old value = $MESSAGE\$" "watchpoint: old ESI is the message address"
expect s1 "^New value = $((MESSAGE + 1))\$" "watchpoint: LODSB moved ESI by one"
expect s1 "^Breakpoint 3, $(pad8 "$DONE") in _start\.done \(\)" "break _start.done hit at $DONE"
expect s1 "^0x[0-9a-f]+:	0x[0-9a-f]{8}	0x[0-9a-f]{8}	0x[0-9a-f]{8}	0x[0-9a-f]{8}\$" "x/4xw \$esp printed four words"
expect s1 "^$(pad8 $((DONE + 2))) in _start\.done \(\)" "stepi moved EIP past MOV AL,0x10 (2 bytes)"
expect s1 "^eip +$(hexnum $((DONE + 2))) " "info registers: eip after the step"
expect s1 "^eax +0x2bad0a10 " "info registers: eax = 0x2bad0a10 (AH = last character, AL = 0x10)"
# The message is what the guest prints (demos/expected/hello.out) and a NUL.
expect s1 "^esi +$(hexnum $((MESSAGE + $(wc -c <demos/expected/hello.out) + 1))) " "info registers: esi one past the message's NUL"
expect s1 "^cs +0x8 +8\$" "info registers: cs = 0x8"
expect s1 "^ss +0x10 +16\$" "info registers: ss = 0x10"
expect s1 "^eflags +0x[0-9a-f]+ +\[ .*\]\$" "info registers: eflags decoded"
expect s1 "^CPL +0 +0\$" "monitor info rings (the session's table: guest-visible and real CPL)"
expect s1 "^stepped\$" "monitor info stop"
expect s1 "Inferior 1 .* detached" "detach"
grep -q "Hello from Ringside!" "$T/s1.stub.out" && ok "the guest's serial output reached the stub's stdout" || bad "no serial output from the guest"
[ "$SHOW" = 1 ] && { echo "---- gdb session 1:"; cat "$T/s1.out"; }
kill -0 "$STUB_PID" 2>/dev/null && ok "the stub is still running after detach" || bad "the stub exited after detach"

# ---- session 2: the same stub, a second connection, Ctrl-C, kill
SHOW=0
# gdb runs in the background; once it has printed the patched bytes (so
# `continue` is next) it gets SIGINT, as from Ctrl-C, and sends 0x03.
gdb -q -batch -nx -ex 'set architecture i386' -ex "target remote 127.0.0.1:$PORT" \
  -ex 'info registers eip' \
  -ex 'set {unsigned char[2]}$pc = {0xeb, 0xfe}' \
  -ex 'x/2xb $pc' \
  -ex continue \
  -ex 'info registers eip' \
  -ex 'monitor info stop' \
  -ex kill "$GUEST" </dev/null >"$T/s2.out" 2>&1 &
GDB_PID=$!
for _ in $(seq 200); do
  grep -q "0xeb	0xfe" "$T/s2.out" && break
  kill -0 "$GDB_PID" 2>/dev/null || break
  sleep 0.1
done
sleep 1
kill -INT "$GDB_PID" 2>/dev/null
for _ in $(seq 300); do kill -0 "$GDB_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$GDB_PID" 2>/dev/null; then bad "session 2: gdb still running after 30 s"; kill -KILL "$GDB_PID"; fi
wait "$GDB_PID" 2>/dev/null
expect s2 "^eip +$(hexnum $((DONE + 2))) " "second connection: the guest is where the first left it"
expect s2 "^$(hexnum $((DONE + 2))) <_start\.done\+2>:	0xeb	0xfe\$" "memory write (jmp \$) read back"
expect s2 "^Program received signal SIGINT, Interrupt\.\$" "Ctrl-C interrupted the running guest"
expect s2 "^interrupted\$" "monitor info stop after Ctrl-C"
expect s2 "Inferior 1 .* killed" "kill"
[ "$SHOW" = 1 ] && { echo "---- gdb session 2:"; cat "$T/s2.out"; }
wait_stub 10
[ "$STUB_STATUS" = 0 ] && ok "kill ended the stub (status 0)" || bad "after kill the stub: status $STUB_STATUS"
grep -q "killed by gdb" "$T/s1.stub.err" && ok "the stub said it was killed" || bad "no 'killed by gdb' on the stub's stderr"

# ---- session 3: run to the guest's own exit
start_stub s3 || finish
SHOW=0
gdb_run s3 -ex continue
expect s3 "Inferior 1 .* exited with code 041\]" "continue to debug-exit: gdb sees exit code 33 (041)"
[ "$SHOW" = 1 ] && { echo "---- gdb session 3:"; cat "$T/s3.out"; }
wait_stub 10
[ "$STUB_STATUS" = 33 ] && ok "the stub exits with the guest's status (33) once gdb has gone" || bad "stub after the guest's exit: status $STUB_STATUS, want 33"
cmp -s "$T/s3.stub.out" demos/expected/hello.out && ok "serial output under the stub is the plain run's" || bad "serial output under the stub differs from demos/expected/hello.out"

# ---- session 4: hardware watchpoints on a C kernel (no debug information: casts)
KERNEL=demos/build/minikernel.elf
if [ -e "$KERNEL" ]; then
  GUEST=$KERNEL start_stub s4 || finish
  SHOW=0
  GUEST=$KERNEL gdb_run s4 \
    -ex 'watch *(int *) &nfree' -ex continue -ex continue \
    -ex delete -ex 'awatch *(int *) &ticks' -ex continue \
    -ex 'info watchpoints' \
    -ex kill
  expect s4 "^Hardware watchpoint 1: \*\(int \*\) &nfree\$" "watch set as a hardware watchpoint (Z2 accepted)"
  expect s4 "^Old value = 0\$" "watchpoint: nfree was 0"
  expect s4 "^New value = 1024\$" "watchpoint: vm_init made 1024 frames free"
  expect s4 "^New value = 1023\$" "watchpoint: program_load took one"
  expect s4 "^0x[0-9a-f]{8} in program_load \(\)\$" "watchpoint: stopped after the store, in program_load"
  expect s4 "^Hardware access \(read/write\) watchpoint 2: \*\(int \*\) &ticks\$" "awatch set (Z4 accepted)"
  expect s4 "^Value = 0\$" "awatch: the timer handler read ticks"
  expect s4 "^2 +acc watchpoint +keep y +\*\(int \*\) &ticks\$" "info watchpoints"
  expect s4 "Inferior 1 .* killed" "kill"
  [ "$SHOW" = 1 ] && { echo "---- gdb session 4:"; cat "$T/s4.out"; }
  wait_stub 10
  [ "$STUB_STATUS" = 0 ] && ok "kill ended the stub (status 0)" || bad "after kill the stub: status $STUB_STATUS"
else
  bad "$KERNEL is missing (make demos)"
fi

# ---- session 5: under bt the CPU runs kernel code from the translation
# cache, but gdb sees the guest's addresses, breakpoints and CS.
STUB_ARGS="--technique bt" start_stub s5 || finish
SHOW=0
gdb_run s5 \
  -ex 'info registers eip' \
  -ex 'break _start.next' -ex continue \
  -ex 'info registers eip cs' \
  -ex stepi -ex 'x/i $pc' \
  -ex kill
expect s5 "^eip +$START +$START <_start>" "bt: stopped at the guest's entry point, not in the translation cache"
expect s5 "^Breakpoint 1, $(pad8 "$NEXT") in _start\.next \(\)" "bt: a breakpoint at a guest address stops in its translation"
expect s5 "^cs +0x8 +8\$" "bt: CS is the guest's selector"
expect s5 "^=> 0x10[0-9a-f]{4} <_start\.next\+[0-9]+>:" "bt: stepi moves one guest instruction"
[ "$SHOW" = 1 ] && { echo "---- gdb session 5:"; cat "$T/s5.out"; }
wait_stub 10

finish
