#!/usr/bin/env bash
# Every lesson is a test (issue 9): runs each lessons/*.rsc in batch mode
# under every technique its header names (`# technique: trap native`), as
#   ringside --lesson FILE --batch --technique T
# A lesson passes when it runs to its end with every `expect` holding (exit
# status 0); the first failed expectation prints its FILE:LINE and the
# transcript's last lines.  Techniques that do not exist yet are skipped.
#   tools/check-lessons.sh [RINGSIDE]     (default .build/debug/ringside)
# Prints "ok"/"FAIL"/"skip" lines and ends with "lessons: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/ringside}
pass=0; fail=0
if [ ! -x "$BIN" ]; then
  echo "FAIL $BIN is not an executable (build first)"
  echo "lessons: 0 passed, 1 failed"; exit 1
fi
T=$(mktemp -d /tmp/ringside-lessons.XXXXXX)
trap 'rm -rf "$T"' EXIT

# The techniques a lesson names: its first `# technique:` or `# techniques:` header line.
techniques() {
  sed -n -E 's/^#[[:space:]]*techniques?:[[:space:]]*//p' "$1" | head -1 | tr ',' ' '
}

for lesson in lessons/*.rsc; do
  name=$(basename "$lesson" .rsc)
  ts=$(techniques "$lesson")
  [ -n "$ts" ] || ts=native
  for t in $ts; do
    out="$T/$name.$t.out"
    timeout 300 "$BIN" --lesson "$lesson" --batch --technique "$t" </dev/null >"$out" 2>"$T/$name.$t.err"
    status=$?
    if [ $status = 0 ]; then
      echo "ok   $name under $t ($(grep -c '^(ringside) expect' "$out") expectations)"
      pass=$((pass+1))
    elif grep -q "^ringside: .*technique '.*' is not available yet" "$T/$name.$t.err"; then
      echo "skip $name under $t: $(head -1 "$T/$name.$t.err")"
    else
      echo "FAIL $name under $t: status $status"
      grep -m1 'error:' "$T/$name.$t.err" | sed 's/^/     /'
      tail -n 12 "$out" | sed 's/^/     | /'
      fail=$((fail+1))
    fi
  done
done
# ---- the command line of lesson mode itself
check() {   # check NAME WANT-STATUS WANT-STDERR-TEXT ARGS...
  local name=$1 want=$2 text=$3; shift 3
  timeout 60 "$BIN" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err"
  local status=$?
  if [ "$status" = "$want" ] && grep -qF -- "$text" "$T/$name.err"; then
    echo "ok   $name (status $want)"; pass=$((pass+1))
  else
    echo "FAIL $name: status $status (want $want), stderr: $(head -c 300 "$T/$name.err")"; fail=$((fail+1))
  fi
}
printf '# Lesson 0: a wrong claim\n# guest: demos/build/hello.elf\n# technique: native trap\nnote Hello.\nexpect $eax == 1\n' >"$T/wrong.rsc"
check "a failed expectation exits 1 with FILE:LINE" 1 "wrong.rsc:5: error: expectation failed: \$eax == 1" --lesson "$T/wrong.rsc" --batch
check "--technique must be one the lesson names" 64 "this lesson runs under native, trap, not pv" --lesson "$T/wrong.rsc" --batch --technique pv
check "a missing lesson file" 66 "No such file or directory" --lesson "$T/none.rsc" --batch
printf '# Lesson 0\n# guest: demos/build/nothing.elf\nnote x\n' >"$T/noguest.rsc"
check "a lesson whose guest is missing" 66 "its guest demos/build/nothing.elf is missing" --lesson "$T/noguest.rsc" --batch

echo "lessons: $pass passed, $fail failed"
[ $fail = 0 ]
