#!/usr/bin/env bash
# Installs what Ringside needs and is missing: Debian packages with apt-get,
# Python packages for the test oracles with pip.  Quiet when all is present.
#   tools/deps.sh            build and run needs
#   tools/deps.sh test       also the oracles (nasm, gcc-multilib, QEMU, gdb, Unicorn, capstone, tmux)
set -euo pipefail
debs=(libncursesw5-dev libreadline-dev)
pips=()
if [ "${1:-}" = test ] || [ "${1:-}" = bench ]; then
  debs+=(nasm gcc-multilib binutils qemu-system-x86 gdb tmux bc)
  pips+=(unicorn capstone)
fi
missing=()
for d in "${debs[@]}"; do
  dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for p in "${pips[@]}"; do
  python3 -c "import $p" >/dev/null 2>&1 || { echo "deps: pip install $p" >&2; python3 -m pip install -q "$p"; }
done
command -v swift >/dev/null || { echo "deps: Swift 6 toolchain not found on PATH (see README)" >&2; exit 1; }
