#!/usr/bin/env bash
# Set up a fresh machine. `device`: venv with the [device] extra. `dev`: also system packages for
# the tests (Xvfb, xdotool, OpenSSH server, ImageMagick, sudo for the deploy account's rule; mmdebstrap and qemu-user-static for the
# emulated arm64 check, .ci/arm64-check.sh), every extra, and a second venv with tflite-runtime
# 2.14 + numpy<2 (what old 32-bit boards run) for the compatibility tests.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-dev}
PY=${PY:-python3}

pip_install() { "$@" --disable-pip-version-check -q; }

if [ "$mode" = dev ]; then
  need=()
  for pair in Xvfb:xvfb xdotool:xdotool sshd:openssh-server import:imagemagick xwd:x11-apps \
      visudo:sudo mmdebstrap:mmdebstrap qemu-aarch64-static:qemu-user-static; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing system packages: ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
if [ "$mode" = dev ]; then
  pip_install .venv/bin/pip install -e ".[dev]"
else
  pip_install .venv/bin/pip install -e ".[device]"
fi

if [ "$mode" = dev ]; then
  # tflite-runtime 2.14 has wheels for CPython <= 3.11 only.
  if command -v python3.11 >/dev/null 2>&1; then
    [ -x .venv-tflite/bin/python ] || python3.11 -m venv .venv-tflite
    pip_install .venv-tflite/bin/pip install "tflite-runtime==2.14.0" "numpy<2" pillow "opencv-python-headless<4.11"
    pip_install .venv-tflite/bin/pip install --no-deps -e .
  else
    echo "python3.11 not found: skipping the tflite-runtime 2.14 venv" >&2
  fi
fi
