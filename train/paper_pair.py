"""Make a paper model: a digit model for digits on paper, read with the digit model as partner
where it is unsure (`device/paper_reader.py`).

    python -m digitkiosk.train.paper_pair runs/paper/digitnet.json --partner models/digitnet.json \
        --name papernet --version 1.0.0 --out models

The paper model (trained on every medium, real scanned digits included, and calibrated) reads each
picture; where its top digit is below `read_with_partner_below` the partner (the bundled digit
model, trained on MNIST and pen digits) reads it too and the answer is the pair's normalised
geometric mean. Both the gate and the pair's reject threshold are chosen here on validation digits
neither model was trained on: the held-out writers of pendigits and UNIPEN, the held-out ORAND
images (`splits.py`), and the MNIST training images both models held out (each trainer holds out
5,000 chosen by its seed, which the card records). The gate is the lowest of GATES whose mean
accuracy over those sources is the best (fewest partner reads among equals); the threshold follows
`choose_threshold` on the pair's answers. MNIST test is printed for the record,
never chosen on.

The paper card is the paper model's card with the new name, version and file, and a `pair` block
(the partner's identity, the gate, the threshold, the validation figures). Files are written to
temporary names and renamed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
from digitkiosk.device.errors import DigitkioskError
from digitkiosk.device.fileutil import atomic_write_bytes, atomic_write_text, sha256_bytes
from digitkiosk.device.paper_reader import pair_probs

from .errors import DataError

# Gates tried: read with the partner where the paper model's top digit is below this (1.01: always).
GATES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)
MNIST_VALIDATION = 5000  # the trainer's default (fit.TrainConfig.validation), for cards without it


def mnist_held_out_by_both(cards: list[dict], n_train: int) -> np.ndarray:
    """Indices of MNIST training images that every model's trainer held out (fit.split_with_parts:
    the first MNIST_VALIDATION of a permutation drawn with the run's seed)."""
    keep = np.ones(n_train, bool)
    for data in cards:
        config = (data.get("training") or {}).get("config") or {}
        seed, count = config.get("seed"), config.get("validation", MNIST_VALIDATION)
        if not isinstance(seed, int) or not isinstance(count, int) or config.get("limit"):
            raise DataError(
                f"{data.get('name')} {data.get('version')}: its card does not record the MNIST split"
            )
        held = np.zeros(n_train, bool)
        held[np.random.default_rng(seed).permutation(n_train)[:count]] = True
        keep &= held
    return np.flatnonzero(keep)


def validation_sets(cards: list[dict], mnist, args) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{source: (uint8 28x28 images, labels)} held out from both models' training."""
    from .sources import load_scans, pen_validation

    both = mnist_held_out_by_both(cards, len(mnist.y_train))
    sets = {"mnist": (mnist.x_train[both], mnist.y_train[both])}
    for path in (args.pendigits, args.unipen):
        name, x, y = pen_validation(path)
        sets[name] = (x, y)
    scans = load_scans(args.scans, 1)
    sets[scans.name] = (scans.x_val, scans.y_val)
    return sets


def choose_threshold(
    y: np.ndarray, probs: np.ndarray, partner_probs: np.ndarray, partner_threshold: float
) -> dict:
    """The pair's reject threshold: the lowest in THRESHOLD_BOUNDS whose answered validation
    digits err no more often than TARGET_ACCEPTED_ERROR (`evaluate.choose_reject_threshold`'s
    rule) or, where that is out of reach, than the digit model alone at its own threshold on the
    same digits. Real scans carry confident errors (digits cut badly, labels a reader would query)
    that keep any reader above 0.5% there; the rule then asks the pair for no more wrong answers
    than the device gave before it, and takes every right answer that allows."""
    from .evaluate import TARGET_ACCEPTED_ERROR, choose_reject_threshold, device_answers

    best, answered = device_answers(partner_probs, partner_threshold)
    partner_error = float((best[answered] != y[answered]).mean()) if answered.any() else 0.0
    partner_coverage = float(answered.mean())
    target = max(TARGET_ACCEPTED_ERROR, partner_error)
    chosen = choose_reject_threshold(y, probs, target)
    best, answered = device_answers(probs, chosen["threshold"])
    return chosen | {
        "rule": chosen["rule"] + f" (max of {TARGET_ACCEPTED_ERROR} and the digit model's error at its own "
        "threshold on the same digits)",
        "target_error": round(target, 5),
        "digit_model_alone": {
            "threshold": partner_threshold,
            "error": round(partner_error, 5),
            "coverage": round(partner_coverage, 4),
        },
        "validation_error": round(float((best[answered] != y[answered]).mean()), 5),
    }


def choose(paper, partner, sets: dict) -> dict:
    """The gate and the pair's reject threshold, with the figures they were chosen by."""
    read = {}
    for name, (x, y) in sets.items():
        x = x.astype(np.float32) / 255.0
        read[name] = (paper.predict_probs(x), partner.predict_probs(x), np.asarray(y))
    grid = {}
    for gate in GATES:
        per = {}
        for name, (p, q, y) in read.items():
            probs, partnered = pair_probs(p, lambda rows, q=q: q[rows], gate)
            per[name] = {"accuracy": round(float((probs[:, :10].argmax(1) == y).mean()), 4),
                         "partner_reads": round(float(partnered.mean()), 4)}  # fmt: skip
        grid[str(gate)] = {"mean_accuracy": round(float(np.mean([v["accuracy"] for v in per.values()])), 5),
                           "sources": per}  # fmt: skip
    best = max(v["mean_accuracy"] for v in grid.values())
    gate = min(g for g in GATES if grid[str(g)]["mean_accuracy"] >= best)
    answers = [pair_probs(p, lambda rows, q=q: q[rows], gate)[0] for p, q, _ in read.values()]
    y_all = np.concatenate([y for *_, y in read.values()])
    partner_all = np.concatenate([q for _, q, _ in read.values()])
    threshold = choose_threshold(y_all, np.concatenate(answers), partner_all, partner.card.reject_threshold)
    alone = {
        name: {"paper": round(float((p[:, :10].argmax(1) == y).mean()), 4),
               "partner": round(float((q[:, :10].argmax(1) == y).mean()), 4), "digits": len(y)}
        for name, (p, q, y) in read.items()
    }  # fmt: skip
    return {"gate": gate, "threshold": threshold, "grid": grid, "alone": alone}


def mnist_test(paper, partner, gate: float, m) -> dict:
    """For the record (never chosen on): MNIST test through the paper model, the partner, the pair."""
    x = m.x_test.astype(np.float32) / 255.0
    p, q = paper.predict_probs(x), partner.predict_probs(x)
    pair, partnered = pair_probs(p, lambda rows: q[rows], gate)
    acc = lambda probs: round(float((probs[:, :10].argmax(1) == m.y_test).mean()), 4)  # noqa: E731
    return {"digits": len(m.y_test), "paper": acc(p), "partner": acc(q), "pair": acc(pair),
            "partner_reads": round(float(partnered.mean()), 4)}  # fmt: skip


def write_paper_card(paper, partner, chosen: dict, test: dict, args) -> Path:
    data = dict(paper.card.data)
    file = f"{args.name}.tflite"
    source = f"{paper.card.name} {paper.card.version}"
    data.update(
        name=args.name,
        version=args.version,
        file=file,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        pair={
            "partner": {"name": partner.card.name, "version": partner.card.version, "sha256": partner.sha256},
            "read_with_partner_below": chosen["gate"],
            "reject_threshold": chosen["threshold"]["threshold"],
            "reject_threshold_detail": chosen["threshold"],
            "gate_rule": "lowest gate whose mean validation accuracy over the sources is the best",
            "validation": {"alone": chosen["alone"], "by_gate": chosen["grid"]},
            "mnist_test_for_the_record": test,
            "command": "python -m digitkiosk.train.paper_pair " + " ".join(sys.argv[1:]),
        },
        changes=f"{args.version}: {source} as the paper model, read with {partner.card.name} "
        f"{partner.card.version} where unsure (train/paper_pair.py)",
    )
    model_bytes = Path(paper.path).read_bytes()
    if sha256_bytes(model_bytes) != paper.sha256:
        raise DataError(f"{paper.path} changed while it was measured")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / file, model_bytes)
    return atomic_write_text(args.out / f"{args.name}.json", json.dumps(data, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paper", type=Path, help="the paper model's card (a digit model ending at its logits)")
    ap.add_argument("--partner", type=Path, required=True, help="the digit model's card")
    ap.add_argument("--name", default="papernet")
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", default="../shared/data/mnist")
    ap.add_argument("--pendigits", default="../shared/data/pendigits/train.jsonl")
    ap.add_argument("--unipen", default="../shared/data/unipen/train.jsonl")
    ap.add_argument("--scans", default="../shared/data/orand_car_a")
    args = ap.parse_args(argv)
    from digitkiosk.device.loader import load_model
    from digitkiosk.device.package import TrustPolicy

    from .data import load_mnist

    try:
        policy = TrustPolicy(allow_unsigned=True)  # a workstation tool reading its own runs
        paper, partner = load_model(args.paper, policy=policy), load_model(args.partner, policy=policy)
        mnist = load_mnist(args.data)
        chosen = choose(paper, partner, validation_sets([paper.card.data, partner.card.data], mnist, args))
        test = mnist_test(paper, partner, chosen["gate"], mnist)
        card = write_paper_card(paper, partner, chosen, test, args)
    except (DigitkioskError, DataError, OSError) as e:
        print(f"digitkiosk.train.paper_pair: {e}", file=sys.stderr)
        return 1
    summary = {"card": str(card), "gate": chosen["gate"], "threshold": chosen["threshold"]["threshold"]}
    summary |= {"alone": chosen["alone"], "chosen": chosen["grid"][str(chosen["gate"])], "mnist_test": test}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
