"""`digitkiosk-deploy`: sign models and flash them to one kiosk or a fleet.

    digitkiosk-deploy keygen [--key PATH]
    digitkiosk-deploy sign MODEL [--key PATH]
    digitkiosk-deploy push MODEL (--to HOST[,HOST…] | --inventory FILE [--group NAME])
                      [--kind KIND] [--parallel K] [--canary N] [--dry-run] [--json]
    digitkiosk-deploy status|rollback (--to … | --inventory …) [--kind KIND] [--json]
    digitkiosk-deploy collect (--to … | --inventory …) --out DIR [--purge] [--all] [--json]

KIND is which model: digit, paper, line or stroke (each has its own store on a kiosk); a push
takes it from the model's card, status and rollback act on the digit model unless told.

Bad input is one line on stderr (`digitkiosk-deploy: error: ...`) and exit status 2; a rollout
in which any host failed exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import sys
from pathlib import Path

from digitkiosk.device.cli_main import add_common_arguments, run_main
from digitkiosk.device.model_kinds import DEFAULT_KIND, KINDS

from . import rollout
from .bundle import load_bundle
from .errors import DeployError
from .hosts import push_host, rollback_host, status_host
from .inventory import Host, load_inventory, parse_targets
from .results import HostResult, results_json
from .ssh import SSHOptions

log = logging.getLogger(__name__)
PROG = "digitkiosk-deploy"


def _add_key(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--key",
        type=Path,
        help="private signing key (default ~/.config/digitkiosk/signing_key.pem, or DIGITKIOSK_SIGNING_KEY)",
    )


def _add_fleet(p: argparse.ArgumentParser, *, dry_run: bool = True) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--to", metavar="HOST[,HOST…]", help="hosts as [user@]host[:port], or ~/.ssh/config names"
    )
    where.add_argument("--inventory", "-I", type=Path, metavar="FILE", help="Ansible-style YAML inventory")
    p.add_argument("--group", "-g", help="inventory group (or host) to target (default: all)")
    p.add_argument("--parallel", "-j", type=int, default=10, metavar="K", help="hosts at a time (default 10)")
    p.add_argument(
        "--canary",
        type=int,
        default=0,
        metavar="N",
        help="do the first N hosts first; stop everything if any of them fails",
    )
    if dry_run:
        p.add_argument("--dry-run", "-n", action="store_true", help="connect and report; change nothing")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    ssh = p.add_argument_group("ssh")
    ssh.add_argument("--known-hosts", type=Path, help="known_hosts file (default: ~/.ssh/known_hosts)")
    ssh.add_argument(
        "--accept-new-host-keys",
        action="store_true",
        help="trust and record the key of a host not yet in known_hosts (never a changed key)",
    )
    ssh.add_argument("--ssh-config", type=Path, help="ssh config file (default: ~/.ssh/config)")
    ssh.add_argument("-i", "--identity", action="append", default=[], metavar="KEY", help="ssh private key")
    ssh.add_argument("--connect-timeout", type=float, default=10.0, metavar="S", help="default 10 s")
    ssh.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="limit for each remote command (default 120 s)",
    )


def _add_kind(p: argparse.ArgumentParser, help: str, default: str | None = DEFAULT_KIND) -> None:
    # Each kind of model (digit, paper, line, stroke) has its own store on a kiosk.
    p.add_argument("--kind", choices=list(KINDS), default=default, help=help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Sign digit models and flash them to kiosks.")
    add_common_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("keygen", help="make an Ed25519 signing key pair")
    _add_key(p)
    p.add_argument("--force", action="store_true", help="replace an existing key")
    p.set_defaults(_run=cmd_keygen)

    p = sub.add_parser("sign", help="sign a model (writes <card>.json.sig)")
    p.add_argument("model", type=Path, help="the model's .tflite or .json card")
    _add_key(p)
    p.set_defaults(_run=cmd_sign)

    p = sub.add_parser("push", help="install a signed model on kiosks")
    p.add_argument("model", type=Path, help="the model's .tflite or .json card (signed)")
    _add_fleet(p)
    p.add_argument("--allow-downgrade", action="store_true", help="let kiosks install an older version")
    p.add_argument(
        "--allow-unsigned",
        action="store_true",
        help="push a model without a signature (only development kiosks will take it)",
    )
    _add_kind(p, "which model it is on the kiosks (default: as its card says)", None)
    p.add_argument("--limit-rate", type=float, metavar="KB/S", help="upload bandwidth per host")
    p.add_argument(
        "--force",
        action="store_true",
        help="push a digit model whose card has no passed regression gate (digitkiosk-train gate)",
    )
    p.set_defaults(_run=cmd_push)

    p = sub.add_parser("status", help="active model and health of each kiosk")
    _add_fleet(p, dry_run=False)
    _add_kind(p, "which model (default: digit)")
    p.set_defaults(_run=cmd_status)

    p = sub.add_parser("rollback", help="switch kiosks back to their previous model")
    _add_fleet(p)
    _add_kind(p, "which model (default: digit)")
    p.set_defaults(_run=cmd_rollback)

    p = sub.add_parser("collect", help="pull the kiosks' new samples (corrections) into a folder")
    _add_fleet(p, dry_run=False)
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="collected samples and marks")
    p.add_argument("--purge", action="store_true", help="delete on each kiosk what was collected from it")
    p.add_argument(
        "--all", action="store_true", help="also the unconfirmed readings (kiosks with --samples-all)"
    )
    p.set_defaults(_run=cmd_collect)
    return parser


def cmd_keygen(args: argparse.Namespace) -> int:
    from .keys import keygen, signing_settings

    path, passphrase = signing_settings(os.environ, args.key)
    private, public, key_id = keygen(path, passphrase=passphrase, force=args.force)
    print(f"signing key {key_id}: private key {private} (keep it secret), public key {public}")
    print(f"install the public key on each kiosk: /etc/digitkiosk/trusted_keys/{key_id}.pub")
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    from .keys import sign_model, signing_settings

    sig, key_id = sign_model(args.model, *signing_settings(os.environ, args.key))
    print(f"signed {args.model} with key {key_id}: {sig}")
    return 0


def _hosts(args: argparse.Namespace) -> list[Host]:
    if args.to:
        if args.group:
            raise DeployError("--group needs --inventory")
        return parse_targets(args.to)
    return load_inventory(args.inventory).select(args.group)


def _ssh_options(args: argparse.Namespace) -> SSHOptions:
    for path, what in ((args.ssh_config, "ssh config"), *((Path(i), "ssh key") for i in args.identity)):
        if path is not None and not Path(path).expanduser().is_file():
            raise DeployError(f"{what} not found: {path}")
    return SSHOptions(
        known_hosts=args.known_hosts.expanduser() if args.known_hosts else None,
        accept_new_host_keys=args.accept_new_host_keys,
        config=args.ssh_config.expanduser() if args.ssh_config else None,
        identities=[str(Path(i).expanduser()) for i in args.identity],
        connect_timeout=args.connect_timeout,
        command_timeout=args.timeout,
    )


def _check_counts(args: argparse.Namespace) -> None:
    if args.parallel < 1:
        raise DeployError("--parallel must be at least 1")
    if args.canary < 0:
        raise DeployError("--canary must not be negative")


def _finish(args: argparse.Namespace, results: list[HostResult], **extra) -> int:
    from .report import format_table

    if args.json:
        print(json.dumps(results_json(results, **extra), indent=1))
    else:
        print(format_table(results))
    return 1 if any(r.failed for r in results) else 0


def _roll(args: argparse.Namespace, action, hosts: list[Host]) -> list[HostResult]:
    from .report import ProgressReporter

    return asyncio.run(
        rollout.roll_out(
            action, hosts, parallel=args.parallel, canary=args.canary, progress=ProgressReporter(len(hosts))
        )
    )


def cmd_push(args: argparse.Namespace) -> int:
    _check_counts(args)
    bundle = load_bundle(
        args.model, allow_unsigned=args.allow_unsigned, require_gate=not args.force, kind=args.kind
    )
    hosts, opts = _hosts(args), _ssh_options(args)
    if args.limit_rate is not None and args.limit_rate <= 0:
        raise DeployError("--limit-rate must be positive")
    rate = args.limit_rate * 1024 if args.limit_rate else None
    action = functools.partial(
        push_host,
        bundle=bundle,
        opts=opts,
        dry_run=args.dry_run,
        allow_downgrade=args.allow_downgrade,
        rate_limit=rate,
    )
    log.info("pushing %s %s (%s model) to %d hosts", bundle.name, bundle.version, bundle.kind, len(hosts))
    results = _roll(args, action, hosts)
    return _finish(
        args, results, model=bundle.name, kind=bundle.kind, version=bundle.version, dry_run=args.dry_run
    )


def cmd_status(args: argparse.Namespace) -> int:
    _check_counts(args)
    hosts, opts = _hosts(args), _ssh_options(args)
    return _finish(args, _roll(args, functools.partial(status_host, opts=opts, kind=args.kind), hosts))


def cmd_rollback(args: argparse.Namespace) -> int:
    _check_counts(args)
    hosts, opts = _hosts(args), _ssh_options(args)
    action = functools.partial(rollback_host, opts=opts, dry_run=args.dry_run, kind=args.kind)
    return _finish(args, _roll(args, action, hosts), dry_run=args.dry_run)


def cmd_collect(args: argparse.Namespace) -> int:
    from . import collect

    _check_counts(args)
    hosts, opts = _hosts(args), _ssh_options(args)
    with collect.Collection(args.out) as collection:
        action = functools.partial(
            collect.collect_host, collection=collection, opts=opts, purge=args.purge, everything=args.all
        )
        results = _roll(args, action, hosts)
    new = sum(getattr(r, "new", 0) for r in results)
    if args.json:
        print(json.dumps(results_json(results, out=str(args.out), new=new), indent=1))
    else:
        print(collect.table(results))
    return 1 if any(r.failed for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    def setup(args: argparse.Namespace) -> None:
        if not args.verbose:  # asyncssh logs every connection at INFO
            logging.getLogger("asyncssh").setLevel(logging.WARNING)

    return run_main(
        PROG,
        build_parser(),
        argv,
        interrupted="interrupted (hosts keep the model they had; run again to finish)",
        setup=setup,
    )


if __name__ == "__main__":
    sys.exit(main())
