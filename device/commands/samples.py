"""`digitkiosk samples count|export|purge`: the corrections this kiosk has kept.

A thin layer over `device/samples/store.py`. `export` prints JSON lines in the shared pen-data
format (`records.py`), the same lines `digitkiosk-deploy collect` gathers and `digitkiosk-train
--strokes` reads. Options: `--samples DIR` (or DIGITKIOSK_SAMPLES, else /var/lib/digitkiosk/
samples), `--since TIME` (epoch seconds, an ISO date or time in UTC unless it says otherwise, or
an age such as 12h or 7d).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time

HELP = "corrections kept by the kiosk (--samples): count, export as JSON lines, purge"
DEFAULT_DIR = "/var/lib/digitkiosk/samples"
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def samples_dir(value: str | None) -> str:
    """--samples, else DIGITKIOSK_SAMPLES (read by the settings), else the provisioned default."""
    from ..settings import Settings

    return str(Settings.resolve(samples=value).samples or DEFAULT_DIR)


def parse_time(value: str, now: float | None = None) -> float:
    """'1764500000', '2026-11-30', '2026-11-30T10:00:00+01:00' or '7d' → seconds since the epoch."""
    text = value.strip()
    age = _AGE.match(text)
    if age:
        return (time.time() if now is None else now) - float(age.group(1)) * _UNIT_S[age.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {value!r} (seconds since the epoch, an ISO date/time, or an age like 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def _non_negative(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return n


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="samples_command", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--samples", metavar="DIR", help=f"sample store (default {DEFAULT_DIR}, or DIGITKIOSK_SAMPLES)"
        )
        q.add_argument("--since", type=parse_time, metavar="TIME", help="only samples from this time on")

    count = sub.add_parser("count", help="how many samples are kept")
    common(count)
    count.add_argument("--json", action="store_true", help="print JSON (counts, last id, size)")
    export = sub.add_parser("export", help="print the samples as JSON lines (the shared pen-data format)")
    common(export)
    export.add_argument(
        "--all", action="store_true", help="also the unconfirmed readings (--samples-all), marked as such"
    )
    export.add_argument(
        "--after-id", type=_non_negative, metavar="N", help="only samples with an id above N (collect's mark)"
    )
    purge = sub.add_parser("purge", help="delete samples (all, or those selected)")
    common(purge)
    purge.add_argument(
        "--up-to-id",
        type=_non_negative,
        metavar="N",
        help="only samples with an id up to N (fetched)",
    )


def run(args: argparse.Namespace) -> int:
    from ..samples import open_store, sample_to_json

    with open_store(samples_dir(args.samples)) as store:
        action = args.samples_command
        if action == "count":
            total = store.count(since=args.since)
            corrections = store.count(since=args.since, confirmed_only=True)
            if args.json:
                info = {
                    "kiosk": store.kiosk,
                    "samples": total,
                    "corrections": corrections,
                    "unconfirmed": total - corrections,
                    "last_id": store.last_id(),
                    "size_bytes": store.size_bytes(),
                }
                print(json.dumps(info))
            else:
                print(f"{total} samples ({corrections} corrections, {total - corrections} unconfirmed)")
            return 0
        if action == "export":
            rows = store.samples(since=args.since, after_id=args.after_id, confirmed_only=not args.all)
            out = sys.stdout
            for sample in rows:
                out.write(json.dumps(sample_to_json(sample), separators=(",", ":")) + "\n")
            out.flush()
            return 0
        n = store.purge(since=args.since, up_to_id=args.up_to_id)
        print(f"purged {n} samples")
        return 0


__all__ = ["parse_time", "run", "samples_dir"]
