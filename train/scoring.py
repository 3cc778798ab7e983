"""Scoring a reading against the truth, digit by digit."""

from __future__ import annotations


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def digits_correct(truth: str, read: str) -> int:
    """How many of the true digits were read correctly: the digit count minus the edits needed
    (a missed, extra or wrong digit each costs one)."""
    t = "".join(c for c in truth if c.isdigit())
    r = "".join(c for c in read if c.isdigit() or c == "?")
    return max(0, len(t) - edit_distance(t, r))
