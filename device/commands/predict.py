"""`digitkiosk predict IMAGE...`: read the digits in photos or scans."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .common import add_model_arguments

log = logging.getLogger(__name__)

HELP = "read the digits (a number, or lines of numbers) in photos or scans"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--single", action="store_true", help="each image holds one digit filling it")
    add_model_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..imageio import read_image
    from .common import open_recognizer, settings

    # The line model reads fields, touching numbers and, beside the paper pair, single digits.
    recognizer = open_recognizer(settings(args), fields=True)
    model = f"{recognizer.model.card.name} {recognizer.model.card.version}"
    failed = 0
    for path in args.images:
        try:
            image = read_image(path)
            reading = recognizer.read_single(image) if args.single else recognizer.read_image(image)
        except Exception as e:  # per image: one line for this one, and the others still run
            failed += 1
            if isinstance(e, InputError):  # includes "nothing to read"
                message = str(e)
            else:  # a bug on an input nobody foresaw: say so in one line, never a traceback
                log.debug("%s: reading failed", path, exc_info=True)
                message = f"cannot read this image ({type(e).__name__}: {_first_line(e)})"
            if args.json:
                print(json.dumps({"path": path, "text": "", "digits": [], "error": message, "model": model}))
            else:
                # imageio's messages already name the file; recognition errors do not.
                msg = message if message.startswith(str(path)) else f"{path}: {message}"
                print(f"digitkiosk: {msg}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"path": path, **reading.to_json(), "model": model}))
        else:
            confs = " ".join(f"{d.confidence:.2f}" for d in reading.digits)
            whole = "" if reading.field_confidence is None else f"; field {reading.field_confidence:.2f}"
            print(f"{path}: {reading.text}  (confidence {confs}{whole})")
        sys.stdout.flush()
    return 1 if failed else 0


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else "no message"
