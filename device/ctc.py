"""Decoding a line model's per-step probabilities (CTC) into the digits it read, in numpy.

One net: its best path (`greedy_decode`: the best class per step, runs of one class merged,
blanks dropped). Several members (nets trained alike with other seeds or widths, one file, output
(K, T, C)): each member's best path is decoded and the members choose among those strings, either
by counting (`vote_decode`: the string most members read) or by probability
(`posterior_decode`: the string the members together give the most probability, each member's
probability of a string summed over every path that spells it, `ctc_log_probabilities`). Their
per-step outputs are never averaged: nets trained apart with CTC place their peaks at different
steps, and the averaged path loses digits (validation scans: 81.6% of amounts against 87.9% for
the vote). A line model's card names its decoder (`decode`; absent: "vote").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class LineChar:
    digit: int
    confidence: float  # the highest probability of this digit over its steps
    probs: np.ndarray  # (10,) digit probabilities at its surest step, renormalised without blank
    steps: tuple[int, int]  # first and last step (columns of the output) it spans


def greedy_decode(probs: np.ndarray, blank: int) -> list[LineChar]:
    """(T, C) per-step probabilities → the characters read: the best class per step, runs of
    one class merged, blanks dropped (CTC's best path)."""
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 2 or probs.shape[0] == 0:
        return []
    best = probs.argmax(axis=1)
    out: list[LineChar] = []
    t = 0
    n = len(best)
    while t < n:
        c = int(best[t])
        end = t
        while end + 1 < n and best[end + 1] == c:
            end += 1
        if c != blank:
            peak = t + int(probs[t : end + 1, c].argmax())
            digits = np.delete(probs[peak], blank)
            total = float(digits.sum())
            out.append(
                LineChar(
                    digit=c if c < blank else c - 1,
                    confidence=float(probs[peak, c]),
                    probs=digits / total if total > 0 else digits,
                    steps=(t, end),
                )
            )
        t = end + 1
    return out


def ctc_log_probabilities(member_probs: np.ndarray, strings: list[list[int]], blank: int) -> np.ndarray:
    """(K, T, C) per-member per-step probabilities and N label strings (class indices, no blank)
    → (N, K): the log probability each member gives each string, over every path that spells it
    (CTC's forward recursion over the string with a blank around each label; all strings and
    members at once, one numpy step per time step, rescaled each step so that 40 steps of small
    probabilities do not underflow)."""
    probs = np.asarray(member_probs, np.float64)
    k, steps, _ = probs.shape
    longest = 2 * max((len(s) for s in strings), default=0) + 1
    ext = np.full((len(strings), longest), blank, np.int64)  # blank, s0, blank, s1, ..., blank
    skip = np.zeros((len(strings), longest), bool)  # may come from two back: a label unlike the last
    for n, s in enumerate(strings):
        ext[n, 1 : 2 * len(s) : 2] = s
        for i in range(1, len(s)):
            skip[n, 2 * i + 1] = s[i] != s[i - 1]
    emit = np.moveaxis(probs[:, :, ext], 1, 0)  # (T, K, N, L)
    alpha = np.zeros((k, len(strings), longest))
    alpha[:, :, :2] = emit[0][:, :, :2]
    log_scale = np.zeros((k, len(strings)))
    for t in range(1, steps):
        step = alpha.copy()
        step[:, :, 1:] += alpha[:, :, :-1]
        step[:, :, 2:] += np.where(skip[:, 2:], alpha[:, :, :-2], 0.0)
        step *= emit[t]
        total = step.sum(axis=2)
        total = np.where(total > 0, total, 1.0)  # nothing left: stays 0 (log -inf below)
        alpha = step / total[:, :, None]
        log_scale += np.log(total)
    rows = np.arange(len(strings))
    ends = np.array([2 * len(s) for s in strings])  # the last blank; the last label is one before
    end = alpha[:, rows, ends] + np.where(ends > 0, alpha[:, rows, np.maximum(ends - 1, 0)], 0.0)
    with np.errstate(divide="ignore"):
        return (np.log(end) + log_scale).T


def members_log_probability(
    member_probs: np.ndarray, digit_strings: list[tuple[int, ...]], blank: int
) -> np.ndarray:
    """(K, T, C) per-member per-step probabilities and N strings of digits → (N,): the log of the
    sum over the members of each string's probability (`ctc_log_probabilities`; the members' mean
    up to the one factor K)."""
    labels = [[d if d < blank else d + 1 for d in s] for s in digit_strings]  # digit → class index
    return np.logaddexp.reduce(ctc_log_probabilities(member_probs, labels, blank), axis=1)


def string_probability(member_probs: np.ndarray, digits: tuple[int, ...], blank: int) -> float:
    """(K, T, C) per-member per-step probabilities → the members' mean probability that the line
    spells exactly `digits` (every path that spells it, each member's summed, then averaged): the
    whole field's confidence, which ranks a field's answer right or wrong better than its least
    sure digit does (README, "Field confidence")."""
    member_probs = _members(member_probs)
    return float(np.exp(members_log_probability(member_probs, [digits], blank)[0]) / len(member_probs))


def _readings(member_probs: np.ndarray, blank: int) -> dict[tuple[int, ...], list[list[LineChar]]]:
    """Each member's best path, grouped by the string it spells (first reader first)."""
    reads: dict[tuple[int, ...], list[list[LineChar]]] = {}
    for p in member_probs:
        chars = greedy_decode(p, blank)
        reads.setdefault(tuple(c.digit for c in chars), []).append(chars)
    return reads


def _sureness(readers: list[list[LineChar]]) -> tuple[int, float]:
    """How many members read a string, then the sum of each one's least sure digit."""
    return len(readers), sum(min((c.confidence for c in r), default=0.0) for r in readers)


def _merged(readers: list[list[LineChar]]) -> list[LineChar]:
    """The members that read one string → its characters: each one's confidence and probabilities
    the mean over those members, its steps those of the surest of them."""
    surest = max(readers, key=lambda r: min((c.confidence for c in r), default=0.0))
    return [
        LineChar(
            digit=c.digit,
            confidence=float(np.mean([r[i].confidence for r in readers])),
            probs=np.mean([r[i].probs for r in readers], axis=0),
            steps=c.steps,
        )
        for i, c in enumerate(surest)
    ]


def _members(member_probs: np.ndarray) -> np.ndarray:
    member_probs = np.asarray(member_probs, dtype=np.float32)
    return member_probs[None] if member_probs.ndim == 2 else member_probs


def vote_decode(member_probs: np.ndarray, blank: int) -> list[LineChar]:
    """(K, T, C) per-member per-step probabilities → the characters most members read: each
    member's best path decoded (`greedy_decode`), the string read by the most members wins, a tie
    goes to the string whose readers are surer (the sum of each one's least sure digit); its
    characters merged over its readers (`_merged`). One member: its best path."""
    member_probs = _members(member_probs)
    if len(member_probs) == 1:
        return greedy_decode(member_probs[0], blank)
    return _merged(max(_readings(member_probs, blank).values(), key=_sureness))


def posterior_decode(member_probs: np.ndarray, blank: int) -> list[LineChar]:
    """(K, T, C) per-member per-step probabilities → the characters of the members' best-path
    string that the members give the most probability on average (`ctc_log_probabilities`; the
    ensemble's probability of the string), a tie going as in `vote_decode`; its characters merged
    over the members whose best path it is. Where a majority drops a faint digit that the others
    read surely, the majority's string is often the less probable one ("857" for "8527").
    One member: its best path."""
    member_probs = _members(member_probs)
    if len(member_probs) == 1:
        return greedy_decode(member_probs[0], blank)
    reads = _readings(member_probs, blank)
    strings = list(reads)
    mean = members_log_probability(member_probs, strings, blank)  # the same order as the mean
    best = max(range(len(strings)), key=lambda n: (round(float(mean[n]), 9), _sureness(reads[strings[n]])))
    return _merged(reads[strings[best]])


def rescored_decode(
    member_probs: np.ndarray, blank: int, length: int, opinion: Callable[[tuple[int, ...]], float]
) -> list[LineChar]:
    """(K, T, C) per-member per-step probabilities → the characters of the members' best-path
    string of `length` digits whose members' log probability (`members_log_probability`) plus a
    second reader's `opinion` of it (a log probability, weighted by the caller) is highest, a tie
    going as in `vote_decode`; its characters merged over the members whose best path it is. Where
    no member reads `length` digits: the card's usual choice is the caller's (an empty list).
    Where the members disagree on a digit that another model reads surely, its reading tips the
    choice ("221" for "291": the digit model reads the 9 at 0.64; README, "The digit model's opinion")."""
    member_probs = _members(member_probs)
    reads = {s: r for s, r in _readings(member_probs, blank).items() if len(s) == length}
    if not reads:
        return []
    strings = list(reads)
    score = members_log_probability(member_probs, strings, blank) + np.array([opinion(s) for s in strings])
    best = max(range(len(strings)), key=lambda n: (round(float(score[n]), 9), _sureness(reads[strings[n]])))
    return _merged(reads[strings[best]])


DECODERS: dict[str, Callable[[np.ndarray, int], list[LineChar]]] = {
    "vote": vote_decode,
    "posterior": posterior_decode,
}
