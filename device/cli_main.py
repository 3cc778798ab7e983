"""What the three commands (`digitkiosk`, `digitkiosk-train`, `digitkiosk-deploy`) do the same
way around their work: `-v` for logging, the library's errors as one line and exit status 2,
Ctrl+C as status 130 with a word on what was left, and a reader that closed the pipe
(`digitkiosk predict ... | head -1`) as a quiet end instead of a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .errors import DigitkioskError

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """`--version` (the program's version, in every command) and `-v`."""
    parser.add_argument("--version", action="version", version=f"{parser.prog} {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more of what happens (stderr)")


def run_main(
    prog: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    *,
    quiet_level: int = logging.WARNING,
    interrupted: str = "interrupted",
    setup: Callable[[argparse.Namespace], None] | None = None,
) -> int:
    """Parse `argv`, set up logging (`quiet_level`, or one step more with -v), run the chosen
    command (`args._run(args)`) and turn what it raises into an exit status."""
    args = parser.parse_args(argv)
    level = max(logging.DEBUG, quiet_level - 10) if args.verbose else quiet_level
    logging.basicConfig(level=level, format=LOG_FORMAT)
    try:
        if setup is not None:
            setup(args)
        return int(args._run(args) or 0)
    except DigitkioskError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away: what is left to print has nowhere to go. Point stdout at
        # /dev/null so that the interpreter's final flush does not fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
