#!/usr/bin/env python3
# unicorn_bench.py — time the benchmark loop (bench.bin) under Unicorn.
#
# Unicorn (PyPI `unicorn`) is QEMU's TCG CPU without the machine around
# it.  This script loads build/bench.bin at the address in its header,
# starts at the load address in flat 32-bit protected mode, runs until
# the HLT (Unicorn stops *before* the instruction at `until`), and prints
# the instruction count, the wall time and MIPS.
#
# The instruction count is computed, not counted: bench.bin's header
# gives the loop count, the instructions per iteration and the fixed
# remainder, so the run is not slowed by a per-instruction hook.
# --verify counts with a hook instead and checks the formula (use it on
# a short build, e.g. build/bench-short.bin).
#
# Usage: unicorn_bench.py [BENCH_BIN] [--verify] [--expect-checksum HEX]

import argparse
import os
import struct
import sys
import time

from unicorn import Uc, UC_ARCH_X86, UC_MODE_32, UC_HOOK_CODE
from unicorn.x86_const import UC_X86_REG_EAX, UC_X86_REG_EFLAGS, UC_X86_REG_ESP

LOAD_ADDRESS = 0x00100000
HEADER_OFFSET = 8
MAGIC = b"RSBENCH1"


def parse_header(image):
    magic = image[HEADER_OFFSET:HEADER_OFFSET + 8]
    if magic != MAGIC:
        sys.exit("not a bench.bin image (magic %r)" % magic)
    iterations, per_iter, fixed, halt_off, array_off = struct.unpack_from(
        "<5I", image, HEADER_OFFSET + 8)
    return iterations, per_iter, fixed, halt_off


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_bin = os.path.join(here, "..", "build", "bench.bin")
    ap = argparse.ArgumentParser(description="Time bench.bin under Unicorn.")
    ap.add_argument("image", nargs="?", default=default_bin)
    ap.add_argument("--verify", action="store_true",
                    help="count instructions with a hook and check the header's formula")
    ap.add_argument("--expect-checksum", type=lambda s: int(s, 16),
                    help="fail unless EAX at the HLT equals this (hex)")
    args = ap.parse_args()

    image = open(args.image, "rb").read()
    iterations, per_iter, fixed, halt_off = parse_header(image)
    expected = fixed + iterations * per_iter

    mu = Uc(UC_ARCH_X86, UC_MODE_32)
    mu.mem_map(LOAD_ADDRESS, 0x10000)             # image, array and stack
    mu.mem_write(LOAD_ADDRESS, image)
    mu.reg_write(UC_X86_REG_EFLAGS, 0x2)
    mu.reg_write(UC_X86_REG_ESP, LOAD_ADDRESS + 0x10000)

    counted = [0]
    if args.verify:
        def on_code(uc, address, size, user):
            counted[0] += 1
        mu.hook_add(UC_HOOK_CODE, on_code)

    start = time.perf_counter()
    mu.emu_start(LOAD_ADDRESS, LOAD_ADDRESS + halt_off)
    seconds = time.perf_counter() - start
    checksum = mu.reg_read(UC_X86_REG_EAX)

    print("image: %s (load 0x%08x, hlt at 0x%08x)"
          % (os.path.basename(args.image), LOAD_ADDRESS, LOAD_ADDRESS + halt_off))
    print("instructions: %d (%d iterations x %d + %d)"
          % (expected, iterations, per_iter, fixed))
    print("checksum: 0x%08x" % checksum)
    print("seconds: %.3f" % seconds)
    print("MIPS: %.1f" % (expected / seconds / 1e6 if seconds > 0 else 0.0))

    status = 0
    if args.verify:
        ok = counted[0] == expected
        print("verify: hook counted %d instructions: %s"
              % (counted[0], "matches" if ok else "MISMATCH"))
        status |= 0 if ok else 1
    if args.expect_checksum is not None and checksum != args.expect_checksum:
        print("checksum mismatch: expected 0x%08x" % args.expect_checksum)
        status |= 1
    return status


if __name__ == "__main__":
    sys.exit(main())
