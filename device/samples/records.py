"""One sample, and its JSON line in the shared pen-data format.

A line is what `digitkiosk samples export` prints, what `digitkiosk-deploy collect` gathers and
what `digitkiosk-train --strokes` reads:

    {"label": 7, "strokes": [[[x, y], ...], ...], "writer": "<kiosk>/<YYYY-MM-DD>",
     "predicted": "1", "model": "1.4.0", "time": 1764500000.123, "kiosk": "<kiosk>",
     "id": 42, "uid": "<32 hex>", "confirmed": true}

`label` is the digit the person chose, or null for "not a digit" (then also "not_a_digit": true)
and for a reading nobody confirmed ("confirmed": false, stored only with --samples-all).
`writer` is the kiosk and the day: the trainer holds out whole writers (`train/splits.py`), so
collected samples are split by kiosk and day, never by shuffling single samples of one person's
session into both sides.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

NOT_A_DIGIT = "none"
LABELS = (*(str(d) for d in range(10)), NOT_A_DIGIT)
# What one sample may hold. A digit written on a kiosk has a few strokes of some hundred points;
# the bound keeps one sample under ~100 KB of JSON so the store's size bound means something.
MAX_STROKES = 60
MAX_POINTS = 4000
MAX_TEXT = 64  # the "predicted" and "model" strings


@dataclass
class Sample:
    strokes: list[list[list[float]]]
    label: str | None  # "0"-"9", "none" (not a digit), None for an unconfirmed reading
    predicted: str  # what the kiosk read for this ink ("?" when not sure)
    model: str  # the model version that read it
    time: float  # seconds since the epoch
    confirmed: bool = True
    id: int | None = None  # the store's row id: grows, never reused (collect's high-water mark)
    uid: str = ""  # random, unique across kiosks: what collect de-duplicates on
    kiosk: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(self)


def validate(s: Sample) -> None:
    """Raise ValueError with a short reason when the sample is not one the store may hold."""
    if s.label is not None and s.label not in LABELS:
        raise ValueError(f"label must be 0-9 or {NOT_A_DIGIT!r}, not {s.label!r}")
    if s.confirmed and s.label is None:
        raise ValueError("a confirmed sample needs a label")
    if not isinstance(s.strokes, list) or not s.strokes:
        raise ValueError("a sample needs at least one stroke")
    if len(s.strokes) > MAX_STROKES:
        raise ValueError(f"more than {MAX_STROKES} strokes")
    points = 0
    for stroke in s.strokes:
        if not isinstance(stroke, list) or not stroke:
            raise ValueError("every stroke must be a non-empty list of [x, y] points")
        for p in stroke:
            if (
                not isinstance(p, (list, tuple))
                or len(p) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
                or not all(math.isfinite(v) for v in p)
            ):
                raise ValueError("every point must be [x, y] with finite numbers")
        points += len(stroke)
    if points > MAX_POINTS:
        raise ValueError(f"more than {MAX_POINTS} points")
    for name in ("predicted", "model"):
        value = getattr(s, name)
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValueError(f"{name} must be a string of at most {MAX_TEXT} characters")
    if not isinstance(s.time, (int, float)) or not math.isfinite(s.time) or s.time < 0:
        raise ValueError("time must be seconds since the epoch")


def round_strokes(strokes: list) -> list[list[list[float]]]:
    """Canvas pixels to 0.1 px: finer is noise from the touchscreen, and it keeps samples small."""
    return [[[round(float(x), 1), round(float(y), 1)] for x, y, *_ in stroke] for stroke in strokes]


def day(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d")


def sample_to_json(s: Sample) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": int(s.label) if s.label is not None and s.label != NOT_A_DIGIT else None,
        "strokes": s.strokes,
        "writer": f"{s.kiosk}/{day(s.time)}",
        "predicted": s.predicted,
        "model": s.model,
        "time": round(s.time, 3),
        "kiosk": s.kiosk,
        "id": s.id,
        "uid": s.uid,
        "confirmed": s.confirmed,
    }
    if s.label == NOT_A_DIGIT:
        out["not_a_digit"] = True
    return out


def sample_from_json(row: object) -> Sample:
    """A JSON line (already parsed) → Sample. Raises ValueError naming what is wrong."""
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    try:
        label = row["label"]
        strokes = row["strokes"]
    except KeyError as e:
        raise ValueError(f"missing field {e}") from None
    confirmed = row.get("confirmed", True)
    if not isinstance(confirmed, bool):
        raise ValueError("'confirmed' must be true or false")
    if label is None:
        label_s = NOT_A_DIGIT if row.get("not_a_digit") else None
    elif isinstance(label, int) and not isinstance(label, bool) and 0 <= label <= 9:
        label_s = str(label)
    else:
        raise ValueError(f"label must be a digit 0-9 or null, not {label!r}")
    sample_id = row.get("id")
    if sample_id is not None and (not isinstance(sample_id, int) or isinstance(sample_id, bool)):
        raise ValueError("'id' must be an integer")
    return Sample(
        strokes=strokes,
        label=label_s,
        predicted=row.get("predicted", ""),
        model=row.get("model", ""),
        time=row.get("time", 0.0),
        confirmed=confirmed,
        id=sample_id,
        uid=str(row.get("uid", "")),
        kiosk=str(row.get("kiosk", "")),
    )
