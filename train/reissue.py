"""Re-issue a model that ends in its own int8 SOFTMAX as one that ends at its logits.

    python -m digitkiosk.train.reissue models/digitnet.json --version 1.4.1 --out models

The .tflite loses its final SOFTMAX op (`export.strip_softmax`: every weight and every other op
unchanged, so its int8 logits are bit-identical to the old model's), and the card gets the new
version, file digest and size, the logits' tensor description, `output_kind: "logits"` and a
`changes` line. The figures of the old card stay: the answers (the argmax of the same logits) are
the same; the confidences are now the device's float softmax, within 1/256 of the old int8 ones.
Files are written to temporary names and renamed; the old files are left alone unless `--out` is
their folder and the file name the same (then replaced atomically).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from digitkiosk.device.fileutil import atomic_write_bytes, atomic_write_text, sha256_bytes
from digitkiosk.device.modelcard import ModelCard, read_card
from digitkiosk.device.outputs import LOGITS

from .errors import DataError, print_result


def reissue(card_path: Path, version: str, out: Path) -> Path:
    """The card (and its .tflite) → a logits-output package in `out`; returns the new card's path."""
    from digitkiosk.device.backends import get_backend

    from .card import tensor_spec
    from .export import strip_softmax

    card = read_card(card_path)
    if card.output_kind == LOGITS:
        raise DataError(f"{card.path}: already ends at its logits")
    data = strip_softmax(card.model_file.read_bytes())
    interpreter = get_backend("auto").interpreter(data)
    interpreter.allocate_tensors()
    output = tensor_spec(interpreter.get_output_details()[0])
    old = card.version
    fields = dict(
        version=version, sha256=sha256_bytes(data), size_bytes=len(data), output=output, output_kind=LOGITS
    )
    changes = (
        f"{version}: {card.name} {old} without its final SOFTMAX op (train/export.strip_softmax): "
        f"the same weights and int8 logits (bit-identical), which the model now outputs; the device "
        f"computes the softmax in float (device/outputs.py), the same on every processor. Figures "
        f"below are {old}'s: the same answers, confidences within 1/256."
    )
    return write_reissued(card, fields, changes, out, data)


def write_reissued(
    card: ModelCard, fields: dict, changes: str, out: Path, model_bytes: bytes | None = None
) -> Path:
    """`card` re-issued into `out`: its data with `fields`, stamped `reissued` (now) and with the
    `changes` line, and its model file (`model_bytes` where the file changed, else the card's own
    copied, left alone where `out` is its folder), each written to a temporary name and renamed.
    Returns the new card's path. The re-issuing tools (this one, answers_alone, line_decoder)."""
    new = dict(card.data)
    new.update(
        fields, reissued=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), changes=changes
    )
    out.mkdir(parents=True, exist_ok=True)
    if model_bytes is not None:
        atomic_write_bytes(out / new["file"], model_bytes)
    elif (out / new["file"]).resolve() != card.model_file.resolve():
        atomic_write_bytes(out / new["file"], card.model_file.read_bytes())
    return atomic_write_text(out / card.path.name, json.dumps(new, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("card", type=Path, help="the card of a model ending in SOFTMAX")
    ap.add_argument("--version", required=True, help="the re-issued model's version")
    ap.add_argument("--out", type=Path, required=True, help="folder for the new .tflite and card")
    args = ap.parse_args(argv)
    return print_result("digitkiosk.train.reissue", lambda: reissue(args.card, args.version, args.out))


if __name__ == "__main__":
    sys.exit(main())
