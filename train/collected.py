"""Samples collected from the kiosks (`digitkiosk-train --strokes FILE|DIR[:REPEAT]`).

The files are what `digitkiosk samples export` prints and `digitkiosk-deploy collect` gathers
(one folder of `<host>/*.jsonl`; a folder is read whole). Each line is checked by the device's own
sample reader; a malformed line stops the run with its file and line number, before TensorFlow
is even imported. Samples without a digit (a person's "not a digit", readings nobody confirmed)
are not trained on: the model has no class for them.

The split is by writer, as for every pen source, and a collected sample's writer is its kiosk and
day (`<kiosk>/<YYYY-MM-DD>`): a day's corrections at one kiosk (often one person's) are all on one
side, never shuffled sample by sample into both.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from digitkiosk.device.errors import DigitkioskError
from digitkiosk.device.samples.records import day, sample_from_json
from digitkiosk.device.strokes import parse_strokes

from .errors import DataError
from .sources import SourceData, parse_source, pen_source

log = logging.getLogger(__name__)


def files_of(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
        if not files:
            raise DataError(f"no .jsonl files of samples in {path}")
        return files
    if not path.is_file():
        raise DataError(f"collected samples not found: {path}")
    return [path]


def read_samples(path: Path) -> tuple[list[dict], int]:
    """One file → (trainable pen records, how many samples had no digit)."""
    rows: list[dict] = []
    skipped = 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            sample = sample_from_json(raw)
            strokes = parse_strokes(sample.strokes)
        except (ValueError, DigitkioskError) as e:  # bad JSON, a bad sample, bad strokes
            raise DataError(f"{path}:{n}: malformed sample ({str(e)[:160]})") from None
        if sample.label is None or not sample.label.isdigit() or not sample.confirmed:
            skipped += 1
            continue
        writer = raw.get("writer") or f"{sample.kiosk}/{day(sample.time)}"
        rows.append({"label": int(sample.label), "strokes": strokes, "writer": str(writer)})
    return rows, skipped


def check(specs: list[str]) -> None:
    """Read every --strokes file once (fast, no TensorFlow): bad input fails before training."""
    for spec in specs:
        path, _ = parse_source(spec, 1)
        for f in files_of(path):
            read_samples(f)


def load_collected(spec: str, hold_out: bool = True, taken: set[str] | None = None) -> SourceData:
    """`FILE|DIR[:REPEAT]` (weight 1 by default) → a pen source of the collected digits."""
    path, repeat = parse_source(spec, 1)
    files = files_of(path)
    rows: list[dict] = []
    skipped = 0
    digest = hashlib.sha256()
    for f in files:
        got, missed = read_samples(f)
        rows += got
        skipped += missed
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    if not rows:
        raise DataError(f"{path}: no collected samples with a digit to train on")
    name = "collected-" + Path(path).stem
    while taken is not None and name in taken:  # two --strokes files of the same name
        name += "+"
    src = pen_source(name, str(path), digest.hexdigest(), rows, repeat, hold_out)
    src.skipped = skipped
    log.info("collected %s: %d files, %d samples without a digit left out", name, len(files), skipped)
    return src
