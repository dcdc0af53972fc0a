#!/usr/bin/env python3
"""Records the disassembler's cross-check expectations from ndisasm and objdump.

The byte strings come from the Swift test target (DisasmInputs in
Tests/X86Tests/DisassemblerTests.swift), so that they follow the opcode
table: this script asks it to dump them, runs both oracles on them and writes

    Tests/X86Tests/Vectors/disasm-rows.json    representative bytes per table row
    Tests/X86Tests/Vectors/disasm-corpus.tsv   the random corpus

Each entry keeps the address the oracles saw it at (branch targets are
absolute), and, for the first instruction of its byte string, ndisasm's
length and text (`ndisasm -b 32`) and objdump's length and text
(`objdump -D -b binary -m i386 -M intel`).  Oracles run in one batch: every
byte string starts a 32-byte slot padded with NOPs, so a disagreement about
its length cannot desynchronise the next one.

    tools/disasm/record.py                 dump inputs with swift test, record
    tools/disasm/record.py --inputs DIR    use DIR/rows.hex and DIR/corpus.hex
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VECTORS = os.path.join(ROOT, "Tests", "X86Tests", "Vectors")
SLOT = 32


def dump_inputs(dest):
    env = dict(os.environ, RINGSIDE_DISASM_DUMP=dest)
    subprocess.run(["swift", "test", "--scratch-path", ".build-disasm", "--filter", "dumpDisasmInputs"],
                   cwd=ROOT, env=env, check=True)


def blob(inputs):
    out = bytearray()
    for b in inputs:
        assert len(b) <= 15
        out += b + b"\x90" * (SLOT - len(b))
    return bytes(out)


def run_ndisasm(path, n):
    text = subprocess.run(["ndisasm", "-b", "32", path], check=True, capture_output=True, text=True).stdout
    lines = {}
    last = None
    for line in text.splitlines():
        if line.startswith(" "):                       # "         -XXXX" continues the hex column
            h = line.strip()[1:]
            if last is not None:
                lines[last][0] += len(h) // 2
            continue
        f = line.split(None, 2)
        if len(f) < 3:
            continue
        addr = int(f[0], 16)
        last = addr
        lines[addr] = [len(f[1]) // 2, f[2]]
    return [lines.get(i * SLOT, [0, "?"]) for i in range(n)]


OBJ_LINE = re.compile(r"^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*(?:\t(.*))?$")


def run_objdump(path, n):
    text = subprocess.run(["objdump", "-D", "-b", "binary", "-m", "i386", "-M", "intel", path],
                          check=True, capture_output=True, text=True).stdout
    lines = {}
    last = None
    for line in text.splitlines():
        m = OBJ_LINE.match(line)
        if not m:
            continue
        addr = int(m.group(1), 16)
        nbytes = len(m.group(2).split())
        if m.group(3) is None:                         # continuation of the bytes column
            if last is not None:
                lines[last][0] += nbytes
            continue
        last = addr
        lines[addr] = [nbytes, " ".join(m.group(3).split())]
    return [lines.get(i * SLOT, [0, "?"]) for i in range(n)]


def oracles(inputs):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in.bin")
        with open(path, "wb") as f:
            f.write(blob(inputs))
        return run_ndisasm(path, len(inputs)), run_objdump(path, len(inputs))


def read_hex(path):
    with open(path) as f:
        return [bytes.fromhex(l.strip()) for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", help="directory with rows.hex and corpus.hex (default: dump them now)")
    args = ap.parse_args()
    tmp = None
    if args.inputs:
        src = args.inputs
    else:
        tmp = tempfile.TemporaryDirectory()
        src = tmp.name
        dump_inputs(src)
    nd = subprocess.run(["ndisasm", "-v"], capture_output=True, text=True)
    nd_version = (nd.stdout + nd.stderr).strip()
    od_version = subprocess.run(["objdump", "-v"], capture_output=True, text=True).stdout.splitlines()[0]

    rows = read_hex(os.path.join(src, "rows.hex"))
    nd, od = oracles(rows)
    seen = set()
    entries = []
    for i, (b, n, o) in enumerate(zip(rows, nd, od)):
        if b in seen:
            continue
        seen.add(b)
        entries.append({"hex": b.hex(), "address": i * SLOT, "ndisasm": n, "objdump": o})
    with open(os.path.join(VECTORS, "disasm-rows.json"), "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(e) for e in entries) + "\n]\n")

    corpus = read_hex(os.path.join(src, "corpus.hex"))
    nd, od = oracles(corpus)
    with open(os.path.join(VECTORS, "disasm-corpus.tsv"), "w") as f:
        f.write("# Ringside disassembler corpus, recorded by tools/disasm/record.py\n")
        f.write(f"# {nd_version}; {od_version}\n")
        f.write("# address\thex\tndisasm length\tndisasm text\tobjdump length\tobjdump text\n")
        for i, (b, n, o) in enumerate(zip(corpus, nd, od)):
            f.write(f"{i * SLOT:x}\t{b.hex()}\t{n[0]}\t{n[1]}\t{o[0]}\t{o[1]}\n")
    print(f"record: {len(entries)} row vectors, {len(corpus)} corpus entries", file=sys.stderr)


if __name__ == "__main__":
    main()
