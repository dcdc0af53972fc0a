#!/usr/bin/env bash
# Fresh-seed differential run: generate new random vectors with Unicorn as
# the oracle, then run Ringside's differential tests on them.
#
#   tools/difftest/live.sh                    # seed from the clock
#   SEED=1234 COUNT=2000 tools/difftest/live.sh
#   FAMILIES=alu,shift tools/difftest/live.sh
#   KEEP=1 tools/difftest/live.sh             # keep the vectors even on success
#   DIR=/some/dir tools/difftest/live.sh      # write the vectors there (never deleted)
#
# Needs python3 with the `unicorn` package, and nasm.  On failure the vector
# directory is kept and the command that reproduces it is printed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SEED=${SEED:-$(date +%s)}
COUNT=${COUNT:-500}
if [ -n "${DIR:-}" ]; then
    OWN_DIR=
else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/ringside-vectors.XXXXXX")
    OWN_DIR=1
fi

echo "difftest: seed $SEED, $COUNT cases per family, vectors in $DIR"
python3 "$ROOT/tools/difftest/gen.py" --seed "$SEED" --count "$COUNT" --out "$DIR" \
    ${FAMILIES:+--families "$FAMILIES"}

cd "$ROOT"
status=0
RINGSIDE_VECTORS="$DIR" swift test --filter Differential || status=$?

if [ "$status" -ne 0 ]; then
    echo "difftest: FAILED (seed $SEED). Vectors kept in $DIR"
    echo "difftest: reproduce with: SEED=$SEED COUNT=$COUNT${FAMILIES:+ FAMILIES=$FAMILIES} tools/difftest/live.sh"
    exit "$status"
fi
if [ -n "$OWN_DIR" ] && [ -z "${KEEP:-}" ]; then
    rm -rf "$DIR"
else
    echo "difftest: vectors kept in $DIR"
fi
echo "difftest: passed (seed $SEED)"
