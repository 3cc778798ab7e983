"""Fixed development splits of the real data: by writer (pen data) and by image (scans).

The held-out part is decided by a hash of the writer's or image's name, not by a seed, so every
training recipe, seed and measuring script holds out exactly the same writers and images: a
figure on them is comparable across runs, and no seed can leak a validation writer into training.
About one writer (or image) in five is held out; of pendigits' 30 writers, one in ten (four
writers, 1,000 digits), since with so few writers a fifth would cost the model a third of them.
"""

from __future__ import annotations

import hashlib

HELD_OUT_ONE_IN = 5
HELD_OUT_ONE_IN_SMALL = 10  # for a pen source with few writers (pendigits: 30)


def _held_out(name: str, one_in: int = HELD_OUT_ONE_IN) -> bool:
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % one_in == 0


def pen_writer(record: dict) -> str:
    """The person who wrote a pen record. UNIPEN names "source/writer/file" (one person can have
    several files); pendigits names "tra-12". Splitting by file would put one person's digits on
    both sides of the split."""
    name = str(record.get("writer", ""))
    return "/".join(name.split("/")[:2])


def is_validation_writer(record: dict, few_writers: bool = False) -> bool:
    one_in = HELD_OUT_ONE_IN_SMALL if few_writers else HELD_OUT_ONE_IN
    return _held_out("writer:" + pen_writer(record), one_in)


def is_validation_scan(file_name: str) -> bool:
    """ORAND-CAR-A images: the same rule by file name (the image, not its digits, is the unit)."""
    return _held_out("scan:" + file_name)
