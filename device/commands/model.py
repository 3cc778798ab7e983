"""`digitkiosk model install|list|activate|rollback|status`: the device's model store.

Every subcommand takes --kind (digit, paper, line or stroke: which model's store, model_kinds.py;
default digit), --store (or DIGITKIOSK_STORE), --trust-dir (or DIGITKIOSK_TRUST_DIR) and
--allow-unsigned (or DIGITKIOSK_ALLOW_UNSIGNED=1, development only). `install`, `activate` and
`rollback` print one line, or JSON with --json; `status` always prints JSON (it is what
`digitkiosk-deploy` reads as its health check) and exits 1 when the active model is not healthy.
"""

from __future__ import annotations

import argparse
import json

from ..model_kinds import DEFAULT_KIND, KINDS, model_kind
from ..settings import Settings
from .common import add_trust_arguments

HELP = "manage installed models: install, list, activate, rollback, status"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--kind",
        choices=list(KINDS),
        default=DEFAULT_KIND,
        help="which model: digit (default), paper (pictures), line (fields), stroke (pen strokes)",
    )
    p.add_argument("--store", help="model store (default /var/lib/digitkiosk/models, or DIGITKIOSK_STORE)")
    add_trust_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    install = sub.add_parser("install", help="verify, self-test and activate a model (.tflite or .json)")
    install.add_argument("model", help="the model's .tflite or .json card (its .json.sig beside it)")
    install.add_argument("--allow-downgrade", action="store_true", help="allow installing an older version")
    _common(install)
    _common(sub.add_parser("list", help="installed versions"))
    activate = sub.add_parser("activate", help="switch to an installed version")
    activate.add_argument("version")
    _common(activate)
    _common(sub.add_parser("rollback", help="switch back to the previous version"))
    status = sub.add_parser("status", help="JSON: active and previous version, self-test, last error")
    status.add_argument("--no-check", action="store_true", help="do not load and self-test the active model")
    _common(status)


def run(args: argparse.Namespace) -> int:
    from ..store import ModelStore

    settings = Settings.resolve(
        trust_dir=args.trust_dir, allow_unsigned=args.allow_unsigned, store=args.store
    )
    store = ModelStore(settings.store, kind=args.kind, policy=settings.policy())
    # The digit model's lines read as before; another kind's say which model they are about.
    noun = model_kind(args.kind).noun  # "model", "paper model"...
    what = "" if args.kind == DEFAULT_KIND else f"{noun} "
    action = args.model_command
    if action == "status":
        status = store.status(check=not args.no_check)
        print(json.dumps(status.to_json(), indent=None if args.json else 1))
        healthy = status.healthy if status.healthy is not None else status.active is not None
        return 0 if healthy else 1
    if action == "list":
        rows = store.list()
        if args.json:
            print(json.dumps(rows))
        elif not rows:
            print(f"no {noun}s installed in {store.root}")
        else:
            for row in rows:
                mark = "*" if row["active"] else ("<" if row["previous"] else " ")
                print(f"{mark} {row['version']:<24} {row['name'] or '?':<12} {(row['sha256'] or '')[:12]}")
        return 0
    if action == "install":
        result = store.install(args.model, allow_downgrade=args.allow_downgrade)
    elif action == "activate":
        result = store.activate(args.version)
    else:
        result = store.rollback()
    if args.json:
        print(json.dumps(result.to_json()))
    elif result.action == "unchanged":
        print(f"{what}{result.version} is already active")
    else:
        print(f"{result.action} {what}{result.version} (previous: {result.previous or 'none'})")
    return 0
