"""Measure a line model's decoders on the validation scans, and re-issue its card with one of them.

    python -m digitkiosk.train.line_decoder models/linenet.json       # measure only
    python -m digitkiosk.train.line_decoder models/linenet.json \
        --decode posterior --version 1.1.1 --out models

A line model of several members (`line_ensemble.py --combine vote`) leaves the choice among its
members' readings to the device (`device/ctc.py`): "vote" (the string most members read) or
"posterior" (the members' string they give the most probability on average). The card's
`decode` names it; the model file is unchanged. Both decoders are measured on every image of
the ORAND-CAR-A validation part (`splits.is_validation_scan`) as the device reads a field
(`line_reader.prepare_line` of the image, the int8 file through the device's loader and
interpreter), and the figures are printed and written to the card (`metrics.decoders`). No test
split. Written to temporary names and renamed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from digitkiosk.device.ctc import DECODERS

from .errors import DataError, print_result

VALIDATION_SET = (
    "ORAND-CAR-A validation part (splits.is_validation_scan, one image in five): {n} fields, each "
    "image prepared as the device does (line_reader.prepare_line), int8 file through the device interpreter"
)


def validation_fields(data: Path) -> tuple[np.ndarray, list[str]]:
    """The validation scans → (N, LINE_HEIGHT, LINE_WIDTH) prepared lines, their amounts."""
    from digitkiosk.device.imageio import read_image
    from digitkiosk.device.line_reader import prepare_line
    from digitkiosk.device.segment import to_gray

    from .sources import scan_amounts
    from .splits import is_validation_scan

    scans = [(p, text) for p, text, _ in scan_amounts(data) if is_validation_scan(p.name)]
    if not scans:
        raise DataError(f"{data}: no validation scans")
    return np.stack([prepare_line(to_gray(read_image(p))) for p, _ in scans]), [t for _, t in scans]


def measure_decoders(model, lines: np.ndarray, truths: list[str]) -> dict:
    """A loaded line model → {decoder: amounts exactly right and digits right} on the lines."""
    from .amounts import score

    probs = [model.probs(lines[i : i + 64]) for i in range(0, len(lines), 64)]
    member_probs = np.concatenate(probs)
    return {
        name: score(["".join(str(c.digit) for c in decode(p, model.blank)) for p in member_probs], truths)
        for name, decode in DECODERS.items()
    }


def reissue_decoder(
    card_path: Path, data: Path, decode: str | None, version: str | None, out: Path | None
) -> dict:
    """Measure every decoder; with `decode`, write the card re-issued with it to `out`."""
    from digitkiosk.device.line_reader import load_line_model

    model = load_line_model(card_path)  # the device's own loader and trust policy
    lines, truths = validation_fields(data)
    figures = measure_decoders(model, lines, truths)
    result: dict = {"model": f"{model.card.name} {model.card.version}", "members": model.members, **figures}
    if decode is None:
        return result
    if version is None or out is None:
        raise DataError("--decode needs --version and --out")
    from .reissue import write_reissued

    old = model.card.version
    metrics = dict(model.card.data.get("metrics", {}))
    metrics["decoders"] = {"validation_set": VALIDATION_SET.format(n=len(truths)), **figures}
    fields = dict(version=version, decode=decode, metrics=metrics)
    kind = model.card.data.get("kind", "")
    if "(line_reader.vote_decode)" in kind:
        fields["kind"] = kind.replace(
            "the string most members read wins (line_reader.vote_decode)",
            "one of the members' strings chosen by the card's decode (device/ctc.py)",
        )
    changes = (
        f"{version}: {model.card.name} {old} with decode {decode!r} (train/line_decoder.py, "
        f"device/ctc.py) in place of {model.decoder!r}; the same model file. On the validation fields: "
        f"{figures[decode]} against {figures[model.decoder]} (metrics.decoders); the other figures are "
        f"{old}'s."
    )
    result["card"] = str(write_reissued(model.card, fields, changes, out))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("card", type=Path, help="the line model's card")
    ap.add_argument("--decode", choices=tuple(DECODERS), help="re-issue the card with this decoder")
    ap.add_argument("--version", help="the re-issued card's version")
    ap.add_argument("--out", type=Path, help="folder for the new card (and the model file)")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/orand_car_a"), help="ORAND-CAR-A")
    args = ap.parse_args(argv)
    return print_result(
        "digitkiosk.train.line_decoder",
        lambda: json.dumps(
            reissue_decoder(args.card, args.data, args.decode, args.version, args.out), indent=1
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
