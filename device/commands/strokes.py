"""`digitkiosk strokes [FILE|-]`: recognize pen strokes given as JSON lines.

This is how other front ends (a web page, another GUI) use the recognizer. Each input line is
`{"strokes": [[[x, y], ...], ...], "id": ...}` in screen coordinates; each gets one output line.
A malformed line gets an error line naming it, and the other lines are still answered.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from .common import add_model_arguments

HELP = "recognize pen strokes given as JSON lines (file or stdin)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", default="-", help="JSON lines file, or - for stdin (default)")
    p.add_argument("--json", action="store_true", help="JSON lines out (default: one readable line each)")
    add_model_arguments(p)


def answer(recognizer, line: str, lineno: int) -> dict:
    """One input line → one output object (raises DigitkioskError for bad input)."""
    from ..errors import InputError
    from ..strokes import parse_strokes

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"line {lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(obj, dict) or "strokes" not in obj:
        raise InputError(f"line {lineno}: expected an object with 'strokes'")
    try:
        strokes = parse_strokes(obj["strokes"])
        reading = recognizer.read_strokes(strokes)
    except InputError as e:
        raise type(e)(f"line {lineno}: {e}") from None
    out: dict = {"id": obj["id"]} if "id" in obj else {}
    digits = [d.to_json() for d in reading.digits]
    if len(digits) == 1:
        out.update(digits[0])
    else:
        out["text"] = reading.text
        out["digits"] = digits
        out["confidence"] = round(min(d.confidence for d in reading.digits), 4)
    out["latency_ms"] = round(reading.latency_ms, 3)
    return out


def run(args: argparse.Namespace) -> int:
    from ..errors import DigitkioskError
    from .common import open_recognizer, settings

    recognizer = open_recognizer(settings(args), pen=True, pictures=False)
    stream: TextIO
    if args.file == "-":
        stream = sys.stdin
    else:
        try:
            stream = open(args.file, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as e:
            raise DigitkioskError(f"cannot read {args.file}: {e.strerror}") from None
    errors = 0
    try:
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                out = answer(recognizer, line, lineno)
            except DigitkioskError as e:
                errors += 1
                out = {"line": lineno, "error": str(e)}
                try:
                    ident = json.loads(line).get("id")
                    if ident is not None:
                        out["id"] = ident
                except (json.JSONDecodeError, AttributeError):
                    pass
            if args.json:
                print(json.dumps(out), flush=True)
            elif "error" in out:
                print(f"digitkiosk: {out['error']}", file=sys.stderr)
            else:
                label = out.get("text", out.get("digit"))
                print(f"{out.get('id', lineno)}: {label}  (confidence {out['confidence']:.2f})", flush=True)
    finally:
        if stream is not sys.stdin:
            stream.close()
    return 1 if errors else 0
