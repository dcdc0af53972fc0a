#!/bin/sh
# check-qemu.sh — run demo images under qemu-system-i386 and compare.
#
#   ./check-qemu.sh NAME...            compare with expected/NAME.{out,status}
#   ./check-qemu.sh --record NAME...   write expected/NAME.{out,status}
#
# Each image runs as build/NAME.elf with the device set of the Ringside
# guest machine contract (COM1 on stdio, isa-debug-exit at 0xF4, nothing
# else), under `timeout 20`.  The serial output is compared byte for byte;
# the exit status is QEMU's: (debug-exit value << 1) | 1.
# NAME/qemu-args, when present, adds QEMU options for that image (systest
# needs `-cpu qemu32,+umip`).
set -u
cd "$(dirname "$0")"
QEMU=${QEMU:-qemu-system-i386}
record=0
if [ "${1:-}" = "--record" ]; then record=1; shift; fi
if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "check-qemu: $QEMU not installed; skipping" >&2
    exit 0
fi
mkdir -p obj/qemu
fail=0
for name in "$@"; do
    out=obj/qemu/$name.out
    extra=
    if [ -f "$name/qemu-args" ]; then extra=$(cat "$name/qemu-args"); fi
    # shellcheck disable=SC2086  # $extra is a list of options
    timeout 20 "$QEMU" $extra -kernel "build/$name.elf" -display none -serial stdio \
        -monitor none -no-reboot -nic none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >"$out" 2>obj/qemu/$name.err
    status=$?
    if [ $record = 1 ]; then
        cp "$out" "expected/$name.out"
        echo "$status" >"expected/$name.status"
        echo "recorded $name (status $status)"
        continue
    fi
    want=$(cat "expected/$name.status")
    if [ "$status" != "$want" ]; then
        echo "FAIL $name: exit status $status, expected $want"; fail=1
    elif ! cmp -s "$out" "expected/$name.out"; then
        echo "FAIL $name: serial output differs:"
        diff "expected/$name.out" "$out" | head -20
        fail=1
    else
        echo "ok   $name"
    fi
done
exit $fail
