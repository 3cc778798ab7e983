"""`digitkiosk`: the device-side command. A thin layer over the library: each command lives in
`digitkiosk.device.commands.<name>` (argument definitions only at import; heavy imports happen in
`run`), and any DigitkioskError becomes one line on stderr and exit status 2 (`cli_main.py`, the
same for the three commands)."""

from __future__ import annotations

import argparse
import importlib
import sys

from .cli_main import add_common_arguments, run_main

COMMANDS = ("kiosk", "predict", "strokes", "camera", "bench", "model", "samples")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitkiosk",
        description="Handwritten-digit recognition on the device: touch kiosk, camera, photos, strokes.",
    )
    add_common_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f".commands.{name}", __package__)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_main("digitkiosk", build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
