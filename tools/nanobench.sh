#!/usr/bin/env bash
# make nanobench: Adams & Agesen's nanobenchmark table (ASPLOS 2006) in
# Ringside's cost model — modeled cycles per operation under every
# technique that runs unmodified guests (native, trap, bt, vtx with shadow
# paging, vtx with EPT).  The guests are demos/build/nano-*.elf; each runs
# with two iteration counts and the empty loop (nano-none) is subtracted
# (Sources/Monitors/Nanobench.swift).  Prints the table and what each cell
# is made of, and writes the bar chart to $CHART (not committed).
# Extra arguments go to `ringside compare`, e.g. --cost vm-exit=1000.
set -u
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/ringside}
CHART=${CHART:-.build/nanobench.svg}
OPS="syscall in cr callret pgfault divzero ptemod"
guests=()
for op in $OPS; do guests+=("demos/build/nano-$op.elf"); done
mkdir -p "$(dirname "$CHART")"
"$BIN" compare "${guests[@]}" --baseline demos/build/nano-none.elf --chart "$CHART" "$@" || exit $?
echo
echo "chart: $CHART"
