"""`digitkiosk`: the device-side command. A thin layer over the library: each command lives in
`digitkiosk.device.commands.<name>` (argument definitions only at import; heavy imports happen in
`run`), and any DigitkioskError becomes one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import DigitkioskError

log = logging.getLogger(__name__)

COMMANDS = ("kiosk", "predict", "strokes", "camera", "bench", "model", "samples")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitkiosk",
        description="Handwritten-digit recognition on the device: touch kiosk, camera, photos, strokes.",
    )
    parser.add_argument("--version", action="version", version=f"digitkiosk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (stderr)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f".commands.{name}", __package__)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args._run(args) or 0)
    except DigitkioskError as e:
        print(f"digitkiosk: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
