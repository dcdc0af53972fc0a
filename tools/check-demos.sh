#!/usr/bin/env bash
# Whole-guest checks for `make test` (DESIGN.md "Testing"):
#  1. the committed demo images are what their sources build to (when the
#     tools are here: nasm, gcc -m32);
#  2. QEMU still produces the recorded serial output and exit status;
#  3. `ringside run` produces the same bytes and status as QEMU, natively
#     and under bt and vtx (shadow paging and EPT).
# Ends with "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/ringside}
pass=0; fail=0
ok()  { echo "ok   $*"; pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }

names=$(cd demos/expected && ls *.status | sed 's/\.status$//')

if command -v nasm >/dev/null && echo 'int main(){return 0;}' | gcc -m32 -x c -o /dev/null - 2>/dev/null; then
  if make -s -C demos all >/tmp/ringside-demos-build.log 2>&1; then
    changed=$(git status --porcelain -- demos/build 2>/dev/null)
    if [ -z "$changed" ]; then ok "demo images rebuild to the committed bytes"
    else bad "demo images differ from their sources after a rebuild:"; echo "$changed"; fi
  else
    bad "demo build failed (see /tmp/ringside-demos-build.log)"
  fi
else
  echo "skip rebuilding demos: nasm or gcc -m32 missing"
fi

if command -v qemu-system-i386 >/dev/null; then
  for n in $names; do
    if out=$(demos/check-qemu.sh "$n" 2>&1); then ok "qemu $n"; else bad "qemu $n"; echo "$out"; fi
  done
else
  echo "skip QEMU: qemu-system-i386 missing"
fi

mkdir -p .build/demo-runs
# 3. Every demo under native, and under the techniques that must not change
#    what a guest sees (issue 7): bt, and vtx with shadow paging and with EPT.
#    check_run EXPECTED-DIR LABEL [OPTIONS...]: every image with a .status
#    file in EXPECTED-DIR, run with OPTIONS, against its .out and .status.
check_run() {
  local dir=$1 label=$2; shift 2
  for f in "$dir"/*.status; do
    [ -e "$f" ] || continue
    n=$(basename "$f" .status)
    out=.build/demo-runs/$n.out
    timeout 300 "$BIN" run "demos/build/$n.elf" "$@" </dev/null >"$out" 2>.build/demo-runs/$n.err
    status=$?
    want=$(cat "$f")
    if [ "$status" != "$want" ]; then
      bad "ringside$label $n: exit status $status, expected $want"; head -5 .build/demo-runs/$n.err
    elif ! cmp -s "$out" "$dir/$n.out"; then
      bad "ringside$label $n: serial output differs:"; diff "$dir/$n.out" "$out" | head -10
    else
      ok "ringside$label $n"
    fi
  done
}
check_run demos/expected ""
check_run demos/expected " --technique bt" --technique bt
check_run demos/expected " --technique vtx --paging shadow" --technique vtx --paging shadow
check_run demos/expected " --technique vtx --paging ept" --technique vtx --paging ept
# Paravirtual images (demos/expected/pv/): they call the hypervisor with
# int 0x82, so neither QEMU nor `native` can run them; under `--technique pv`
# they must print what the native build prints.
check_run demos/expected/pv " --technique pv" --technique pv
echo "demos: $pass passed, $fail failed"
[ "$fail" = 0 ]
