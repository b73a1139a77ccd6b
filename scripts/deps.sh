#!/usr/bin/env bash
# scripts/deps.sh: install what a fresh Debian machine lacks to build, test and benchmark apx.
# Idempotent: every step checks first and does nothing when its part is already there.
#   system (apt):  C toolchain, OpenBLAS, LAPACKE, FFTW, zlib, Python with venv, fortunes (corpus)
#   python (pip):  a virtual environment OUTSIDE the checkout, reused when present:
#                  ${APX_VENV:-$HOME/.cache/apx/venv} with numpy scipy scikit-learn torch pot pytest
#                  and the authors' reference optimizers lion-pytorch and sophia-opt
# Usage: scripts/deps.sh [--system-only|--python-only]
set -euo pipefail

APX_VENV=${APX_VENV:-$HOME/.cache/apx/venv}
want_sys=1; want_py=1
case "${1:-}" in
  --system-only) want_py=0 ;;
  --python-only) want_sys=0 ;;
  "") ;;
  *) echo "usage: $0 [--system-only|--python-only]" >&2; exit 2 ;;
esac

say() { printf 'deps: %s\n' "$*" >&2; }

system_deps() {
  local pkgs=(build-essential pkg-config libopenblas-dev liblapacke-dev libfftw3-dev zlib1g-dev
              python3 python3-venv python3-pip fortunes)
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then say "system packages present"; return; fi
  if [ "$(id -u)" -ne 0 ]; then
    say "missing system packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}"
    exit 1
  fi
  say "installing with apt: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python_deps() {
  local py=${PYTHON:-python3}
  if [ ! -x "$APX_VENV/bin/python" ]; then
    say "creating the Python environment in $APX_VENV"
    mkdir -p "$(dirname "$APX_VENV")"
    "$py" -m venv "$APX_VENV"
  fi
  local pyv="$APX_VENV/bin/python"
  if "$pyv" -c 'import numpy, scipy, sklearn, torch, ot, pytest, lion_pytorch, sophia_opt, captum' 2>/dev/null; then
    say "Python peers present in $APX_VENV"; return
  fi
  say "installing Python peers with pip into $APX_VENV (torch is large; this is done once)"
  "$pyv" -m pip install -q --upgrade pip
  "$pyv" -m pip install -q numpy scipy scikit-learn pytest pot
  "$pyv" -m pip install -q torch
  # authors' reference optimizers (pure Python; their pinned deps would pull another torch)
  "$pyv" -m pip install -q --no-deps lion-pytorch sophia-opt
  # Captum: the explanation peers of P042 (integrated gradients)
  "$pyv" -m pip install -q captum
}

[ $want_sys -eq 1 ] && system_deps
[ $want_py -eq 1 ] && python_deps
say "done"
