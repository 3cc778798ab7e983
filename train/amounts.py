"""How a read amount is scored against the written one, the same everywhere (the line trainer,
the scan benchmark, the real-scan tests): exactly right, and digits right as 1 - edit distance
/ length summed over the amounts."""

from __future__ import annotations


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def digits_right(text: str, truth: str) -> int:
    return max(0, len(truth) - edit_distance(text, truth))


def digits_correct(truth: str, read: str) -> int:
    """How many of the true digits were read correctly: the digit count minus the edits needed
    (a missed, extra or wrong digit each costs one); spaces and line breaks are not scored, and a
    "?" counts as a digit read wrong. For the camera's scenes."""
    t = "".join(c for c in truth if c.isdigit())
    r = "".join(c for c in read if c.isdigit() or c == "?")
    return digits_right(r, t)


def score(texts: list[str], truths: list[str]) -> dict:
    exact = sum(t == s for t, s in zip(texts, truths, strict=True))
    right = sum(digits_right(t, s) for t, s in zip(texts, truths, strict=True))
    return {
        "amounts_exactly_right": round(exact / len(truths), 4),
        "digits_right": round(right / sum(len(s) for s in truths), 4),
    }
