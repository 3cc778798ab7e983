#!/usr/bin/env bash
# The device side on arm64 (issue 21): a cached Debian bookworm arm64 userland run under
# qemu-user, the [device] extra installed from the project's wheel, every answer compared with
# x86-64. Needs mmdebstrap and qemu-user-static (`make dev-env` installs them) and the venvs.
# Options: see `.venv/bin/python tests/arm64/check.py --help` (e.g. --backends litert-ref,
# --layers 600: where int8 outputs differ, layer by layer; --litert 2.1.6 --litert 2.2.0).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python tests/arm64/check.py "$@"
