# Two commands for a fresh machine (see README):
#   make kiosk   set up the device environment and run the kiosk on the bundled model
#   make test    set up everything (system packages, venvs, extras) and run the whole test suite
#                (including the emulated arm64 check, tests/arm64)
#   make arm64-check   only the emulated arm64 check (cached in .cache/arm64)
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: kiosk device-env dev-env test lint bench measure measure-scans arm64-check

device-env:
	PY="$(PY)" bash .ci/setup.sh device

dev-env:
	PY="$(PY)" bash .ci/setup.sh dev

kiosk: device-env
	$(BIN)/digitkiosk kiosk

# One pytest worker per core, at most 4 (pytest-xdist; each worker's TensorFlow takes ~1 GB), a
# test file's tests on one worker (their module fixtures built once): on CI's 2 cores the suite
# takes ~9 min instead of ~14, most of its tests being one process on one core (three workers on
# two cores were no faster). Then the tests marked realtime, alone: a live stream or a paced file
# read on a core shared with another test drops the frames it is too slow for, and what it reads
# depends on the load.
TEST_ENV = DIGITKIOSK_REQUIRE_TFLITE_RUNTIME=1 DIGITKIOSK_REQUIRE_ARM64=1
test: dev-env
	$(TEST_ENV) $(BIN)/python -m pytest -q -m "not realtime" --numprocesses=auto --maxprocesses=4 --dist=loadfile
	$(TEST_ENV) $(BIN)/python -m pytest -q -m realtime

arm64-check: dev-env
	bash .ci/arm64-check.sh

lint: dev-env
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: device-env
	$(BIN)/digitkiosk bench

measure: dev-env
	$(BIN)/python tests/benchmarks/measure_pendigits.py

measure-scans: dev-env
	$(BIN)/python tests/benchmarks/measure_scans.py
