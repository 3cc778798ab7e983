"""Decoding a line model's outputs (device/ctc.py): one net's best path, the members' vote, the
members' probability of each string (CTC's forward recursion, checked against every path
enumerated), and the card's choice of decoder, through the device's loader."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import numpy as np
import pytest
from digitkiosk.device.ctc import (
    ctc_log_probabilities,
    greedy_decode,
    posterior_decode,
    rescored_decode,
    string_probability,
    vote_decode,
)
from digitkiosk.device.errors import ModelError
from digitkiosk.device.line_reader import (
    LINE_HEIGHT,
    LINE_WIDTH,
    default_line_model_path,
    line_digits,
    load_line_model,
)
from digitkiosk.device.package import TrustPolicy

from tests.model_files import copy_package, edit_card

BLANK = 10


def _steps(classes: list[int], p: float = 0.9) -> np.ndarray:
    """Per-step probabilities putting `p` on each step's class and the rest spread evenly."""
    out = np.full((len(classes), 11), (1.0 - p) / 10, np.float32)
    out[np.arange(len(classes)), classes] = p
    return out


def _text(probs: np.ndarray) -> str:
    return "".join(str(c.digit) for c in greedy_decode(probs, BLANK))


def test_greedy_decode_merges_repeats_and_drops_blanks():
    assert _text(_steps([BLANK, 1, 1, BLANK, BLANK, 0, 0, 0, BLANK])) == "10"


def test_greedy_decode_keeps_a_digit_repeated_across_a_blank():
    assert _text(_steps([1, BLANK, 0, BLANK, 0, 0, BLANK, 0])) == "1000"


def test_greedy_decode_of_nothing():
    assert _text(_steps([BLANK] * 40)) == ""
    assert greedy_decode(np.zeros((0, 11), np.float32), BLANK) == []


def test_greedy_decode_confidence_is_the_surest_step_and_steps_are_kept():
    probs = _steps([BLANK, 7, 7, 7, BLANK])
    probs[2, 7], probs[2, BLANK] = 0.99, 0.01 / 10
    (c,) = greedy_decode(probs, BLANK)
    assert c.digit == 7 and c.steps == (1, 3)
    assert c.confidence == pytest.approx(0.99, abs=1e-6)
    assert c.probs.shape == (10,) and c.probs.sum() == pytest.approx(1.0, abs=1e-5) and c.probs.argmax() == 7


def test_greedy_decode_with_the_blank_first():
    probs = _steps([0, 3, 3, 0, 4])  # class 0 is the blank here: digits are classes 1..10
    assert [c.digit for c in greedy_decode(probs, 0)] == [2, 3]


def test_a_digit_tied_with_another_is_answered_as_decoded():
    """int8 outputs often tie two digits at a step: the reading names the decoded one."""
    probs = _steps([BLANK, 2, BLANK])
    probs[1, 2] = probs[1, 9] = 0.45
    chars = greedy_decode(probs, BLANK)
    (reading,) = line_digits(chars, np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32), 3, (40, 120), 0.0)
    assert chars[0].digit == 2 and reading.digit == 2 and reading.box[3] == 40.0


def test_members_vote_on_the_whole_string():
    """Three members read "17", "17" and "71": "17" wins, its confidence the mean of the two that
    read it, its steps those of the surer of them; averaging the steps would have mixed them."""
    a, b, c = (
        _steps([BLANK, 1, BLANK, 7, BLANK]),
        _steps([1, BLANK, 7, BLANK, BLANK], 0.7),
        _steps([7, 1, BLANK] * 1 + [BLANK, BLANK], 0.99),
    )
    chars = vote_decode(np.stack([a, b, c]), BLANK)
    assert [ch.digit for ch in chars] == [1, 7]
    assert chars[0].confidence == pytest.approx((0.9 + 0.7) / 2, abs=1e-6) and chars[0].steps == (1, 1)
    one, best = vote_decode(a, BLANK), greedy_decode(a, BLANK)  # one member, (T, C): its best path
    assert [(ch.digit, ch.steps, ch.confidence) for ch in one] == [
        (ch.digit, ch.steps, ch.confidence) for ch in best
    ]


def test_a_tie_between_strings_goes_to_the_surer_readers():
    sure, unsure = _steps([BLANK, 3, BLANK], 0.95), _steps([BLANK, 8, BLANK], 0.6)
    assert [ch.digit for ch in vote_decode(np.stack([unsure, sure]), BLANK)] == [3]
    assert [ch.digit for ch in vote_decode(np.stack([sure, unsure]), BLANK)] == [3]
    # two empty readings outvote one digit: a field most members see as empty reads as nothing
    empty = _steps([BLANK] * 3)
    assert vote_decode(np.stack([empty, sure, empty]), BLANK) == []


def _collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
    return tuple(c for c in merged if c != blank)


def test_a_strings_probability_is_the_sum_over_every_path_that_spells_it():
    """Two members, 5 steps of 3 classes (blank last): every one of the 3^5 paths enumerated."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=(2, 5)).astype(np.float32)
    strings = [[], [0], [1], [0, 0], [0, 1], [1, 0, 1], [0, 0, 0]]
    brute = np.zeros((len(strings), 2))
    for path in itertools.product(range(3), repeat=5):
        s = list(_collapse(path, 2))
        if s in strings:
            brute[strings.index(s)] += [np.prod(probs[k, np.arange(5), path]) for k in range(2)]
    got = np.exp(ctc_log_probabilities(probs, strings, 2))
    assert got.shape == (len(strings), 2)
    np.testing.assert_allclose(got, brute, rtol=1e-6)
    for s, members in zip(strings, brute, strict=True):  # the field's confidence: the members' mean
        assert string_probability(probs, tuple(s), 2) == pytest.approx(members.mean(), rel=1e-6)


def test_long_fields_do_not_underflow():
    """40 steps of middling probabilities: the raw product is ~1e-20 and below; the rescaled
    recursion stays finite, at least the best path's probability and at most 1."""
    rng = np.random.default_rng(1)
    classes = [BLANK, *[d for d in range(10) for _ in (0, 1)], *[BLANK] * 19][:40]
    probs = _steps(classes, 0.4) + rng.uniform(0, 0.02, (40, 11)).astype(np.float32)
    probs /= probs.sum(axis=1, keepdims=True)
    text = [c.digit for c in greedy_decode(probs, BLANK)]
    assert text == list(range(10))
    (logp,) = ctc_log_probabilities(probs[None], [text], BLANK)[:, 0]
    best_path = float(np.log(probs.max(axis=1)).sum())
    assert np.isfinite(logp) and best_path <= logp <= 0.0
    (never,) = ctc_log_probabilities(probs[None], [[3] * 30], BLANK)[:, 0]  # 30 threes need 59 steps
    assert never == -np.inf


def test_the_members_probability_outweighs_their_count():
    """Two of three members read "17", each giving "127" nearly as much probability (a faint 2
    read as blank by a hair); the third reads "127" surely. The vote takes "17"; the members'
    mean probability of "127" is nearly twice that of "17", and posterior_decode takes it, with the
    characters of the member that read it."""
    faint = np.full((3, 11), 0.05 / 9, np.float32)
    faint[0, 1] = faint[2, 7] = 0.95
    faint[1, BLANK], faint[1, 2] = 0.5, 0.45
    faint[[0, 2], BLANK] = 0.0
    faint /= faint.sum(axis=1, keepdims=True)
    sure = _steps([1, 2, 7], 0.99)
    members = np.stack([faint, faint, sure])
    assert [c.digit for c in vote_decode(members, BLANK)] == [1, 7]
    mean = np.exp(ctc_log_probabilities(members, [[1, 7], [1, 2, 7]], BLANK)).mean(axis=1)
    assert mean[1] > 1.8 * mean[0]
    chars = posterior_decode(members, BLANK)
    assert [c.digit for c in chars] == [1, 2, 7]
    assert chars[1].confidence == pytest.approx(0.99, abs=1e-6) and chars[1].steps == (1, 1)


def test_posterior_decode_agrees_where_the_members_agree_and_with_one_member():
    a, b = _steps([BLANK, 4, BLANK, 0, 0], 0.8), _steps([4, BLANK, 0, BLANK, BLANK], 0.95)
    assert [c.digit for c in posterior_decode(np.stack([a, b]), BLANK)] == [4, 0]
    one, best = posterior_decode(a, BLANK), greedy_decode(a, BLANK)
    assert [(c.digit, c.steps, c.confidence) for c in one] == [(c.digit, c.steps, c.confidence) for c in best]
    empty = _steps([BLANK] * 5)
    assert posterior_decode(np.stack([empty, empty]), BLANK) == []


def _card_with(tmp_path, **changes):
    card = copy_package(default_line_model_path().with_suffix(".json"), tmp_path)
    edit_card(card, **changes)
    return card


def test_the_card_names_the_decoder(tmp_path):
    """An unsigned copy (allowed here) of the bundled line model with each `decode`: the device
    decodes with it; one it does not know is refused in one line."""
    policy = TrustPolicy(tmp_path / "keys", allow_unsigned=True)
    for decode in ("vote", "posterior"):
        model = load_line_model(_card_with(tmp_path, decode=decode), policy=policy)
        assert model.decoder == decode
    card = json.loads(default_line_model_path().with_suffix(".json").read_text())
    (tmp_path / "linenet.json").write_text(json.dumps({k: v for k, v in card.items() if k != "decode"}))
    model = load_line_model(tmp_path / "linenet.tflite", policy=policy)
    assert model.decoder == "vote"  # a card from before the choice
    with pytest.raises(ModelError, match="decode must be one of vote, posterior, not 'beam'") as e:
        load_line_model(_card_with(tmp_path, decode="beam"), policy=policy)
    assert "\n" not in str(e.value)
    probs = model.probs(np.zeros((1, LINE_HEIGHT, LINE_WIDTH), np.float32))
    assert probs.shape[1] == len(model.job_members())


def test_the_card_says_which_members_read_which_job(tmp_path):
    """`members_by_job`: fields read by some members of the file, the numbers in pictures by
    others, from one interpreter call; without it every member reads everything; a card that
    names a job the device does not know, or members the file does not hold, is refused in one
    line."""
    from digitkiosk.device.line_reader import FIELDS, PICTURES

    policy = TrustPolicy(tmp_path / "keys", allow_unsigned=True)
    lines = np.random.default_rng(0).random((2, LINE_HEIGHT, LINE_WIDTH)).astype(np.float32)
    every = load_line_model(_card_with(tmp_path, members_by_job=None), policy=policy)
    assert every.job_members(FIELDS) == every.job_members(PICTURES) == list(range(every.members))
    everything = every.probs(lines)
    assert every.members >= 3 and everything.shape[:2] == (2, every.members)
    jobs = {FIELDS: [0, 2], PICTURES: [1]}
    split = load_line_model(_card_with(tmp_path, members_by_job=jobs), policy=policy)
    np.testing.assert_array_equal(split.probs(lines), everything[:, [0, 2]])  # fields: the default
    np.testing.assert_array_equal(split.probs(lines, PICTURES), everything[:, [1]])
    bad = ({"tables": [0]}, {PICTURES: []}, {PICTURES: [0, 0]}, {FIELDS: [every.members]}, [0, 1])
    for members_by_job in bad:
        with pytest.raises(ModelError, match="members_by_job") as e:
            load_line_model(_card_with(tmp_path, members_by_job=members_by_job), policy=policy)
        assert "\n" not in str(e.value)


def test_a_second_opinion_chooses_among_the_members_readings_of_its_length():
    """Two members read "221", one "291" (its 9 a little less sure than their 2): the members
    alone take "221"; a second reader sure of the 9 tips it to "291", and one sure of the 2 keeps
    "221". Its opinion weighs only the members' strings of the length it asks about: no member
    reads four digits, so nothing is chosen; a string no member read (here "391") is never made."""
    two = _steps([2, BLANK, 2, BLANK, 1], 0.6)
    nine = _steps([2, BLANK, 9, BLANK, 1], 0.65)
    members = np.stack([two, two, nine])
    assert [c.digit for c in posterior_decode(members, BLANK)] == [2, 2, 1]

    def digit_model(middle: int) -> Callable[[tuple[int, ...]], float]:
        """A reader sure of `middle` in the middle (0.9, the other nine 0.01 each) and of the rest."""
        return lambda s: float(np.log(0.9 if s[1] == middle else 0.01))

    chars = rescored_decode(members, BLANK, 3, digit_model(9))
    assert [c.digit for c in chars] == [2, 9, 1] and chars[1].confidence == pytest.approx(0.65)
    assert [c.digit for c in rescored_decode(members, BLANK, 3, digit_model(2))] == [2, 2, 1]
    assert [c.digit for c in rescored_decode(members, BLANK, 3, lambda s: 0.0)] == [2, 2, 1]
    assert rescored_decode(members, BLANK, 4, digit_model(9)) == []
    assert [c.digit for c in rescored_decode(members, BLANK, 3, digit_model(3))] == [2, 2, 1]
