"""What happens on each kiosk, and in what order across the fleet.

push, per host: upload the model, card and signature to a staging folder → `digitkiosk model
install` (the device verifies and self-tests before it switches) → `digitkiosk model status` as the
health check (active version is ours and the model loads and passes its self-test now). A host
that fails the health check after switching is rolled back on the spot.

Across hosts: the first `canary` hosts go first; if any of them fails, the rollout stops and the
rest are not touched. After that, up to `parallel` hosts at a time; a failed host does not stop
the others (it is reported, and the exit status says so).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import ssh
from .errors import DeployError
from .inventory import Host
from .keys import read_package

log = logging.getLogger(__name__)

OK, UNCHANGED, FAILED, SKIPPED, PLANNED = "ok", "unchanged", "failed", "skipped", "dry-run"


@dataclass
class HostResult:
    host: str
    status: str  # ok | unchanged | failed | skipped | dry-run
    message: str = ""
    active: str | None = None
    previous: str | None = None
    healthy: bool | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, SKIPPED)


@dataclass
class ModelBundle:
    """The three files that travel: model, card, signature (the signature may be absent only
    when the operator pushes unsigned on purpose, for development kiosks)."""

    card: Path
    model: Path
    signature: Path | None
    name: str
    version: str
    sha256: str  # of the .tflite
    card_sha256: str  # of the card's exact bytes: what the device's status reports too

    @property
    def files(self) -> list[Path]:
        return [p for p in (self.model, self.signature, self.card) if p is not None]


def load_bundle(model: str | Path, allow_unsigned: bool = False, require_gate: bool = False) -> ModelBundle:
    package = read_package(Path(model))
    if package.signature is None and not allow_unsigned:
        raise DeployError(f"{package.card_path} is not signed: run 'digitkiosk-deploy sign {model}' first")
    if require_gate and not gate_passed(json.loads(package.card_bytes)):
        raise DeployError(
            f"{package.card_path} has no passed regression gate for this model: run "
            "'digitkiosk-train gate NEW CURRENT ...' before signing, or push with --force"
        )
    card = package.card
    sig = package.signature_path if package.signature is not None else None
    return ModelBundle(
        package.card_path, package.model_path, sig, card.name, card.version, card.sha256, package.card_sha256
    )


def gate_passed(card: dict) -> bool:
    """Does the card carry a passed `digitkiosk-train gate` verdict for exactly its own model?"""
    gate = card.get("gate")
    return (
        isinstance(gate, dict)
        and gate.get("passed") is True
        and gate.get("model_sha256") == card.get("sha256")
    )


@dataclass
class DeviceCommand:
    """How to run `digitkiosk model ...` on one host (inventory variables decide)."""

    host: Host

    def argv(self, *args: str) -> list[str]:
        base = shlex.split(self.host.command)
        opts: list[str] = []
        if self.host.vars.get("digitkiosk_store"):
            opts += ["--store", str(self.host.vars["digitkiosk_store"])]
        if self.host.vars.get("digitkiosk_trust_dir"):
            opts += ["--trust-dir", str(self.host.vars["digitkiosk_trust_dir"])]
        return [*base, "model", *args, *opts]


def _parse_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


async def _status(conn, cmd: DeviceCommand, opts: ssh.SSHOptions, check: bool = True) -> dict[str, Any]:
    args = ["status", "--json"] + ([] if check else ["--no-check"])
    result = await ssh.run(conn, cmd.argv(*args), opts.command_timeout)
    status = _parse_json(result.stdout)
    if status is None:
        raise ssh.HostError(f"status failed: {result.error_line()}")
    return status


async def push_host(
    host: Host,
    bundle: ModelBundle,
    opts: ssh.SSHOptions,
    *,
    dry_run: bool = False,
    allow_downgrade: bool = False,
    rate_limit: float | None = None,
) -> HostResult:
    cmd = DeviceCommand(host)
    async with await ssh.connect(host, opts) as conn:
        # Cheap look first (no model load): a host that already runs this exact model gets
        # nothing uploaded, only the health check.
        before = await _status(conn, cmd, opts, check=False)
        active = before.get("active")
        already = active == bundle.version and before.get("card_sha256") == bundle.card_sha256
        if dry_run:
            if already:
                return HostResult(
                    host.name, UNCHANGED, f"already runs {active}", active, before.get("previous")
                )
            message = f"would install {bundle.version} (now {active or 'none'})"
            return HostResult(host.name, PLANNED, message, active, before.get("previous"))
        if already:
            outcome: dict[str, Any] | None = {"action": UNCHANGED}
        else:
            staging = f"{host.staging}/{bundle.version}-{bundle.sha256[:12]}"
            await ssh.upload(conn, bundle.files, staging, rate_limit)
            install_args = ["install", f"{staging}/{bundle.card.name}", "--json"]
            if allow_downgrade:
                install_args.append("--allow-downgrade")
            installed = await ssh.run(conn, cmd.argv(*install_args), opts.command_timeout)
            await ssh.remove_tree(conn, staging)
            outcome = _parse_json(installed.stdout) if installed.exit_status == 0 else None
            if outcome is None:
                status = await _status(conn, cmd, opts, check=False)
                message = f"refused: {installed.error_line()}"
                return HostResult(host.name, FAILED, message, status.get("active"), status.get("previous"))
        status = await _status(conn, cmd, opts)
        if status.get("active") != bundle.version or not status.get("healthy"):
            why = status.get("check_error") or f"active version is {status.get('active')}"
            message = f"health check failed: {why}"
            if outcome.get("action") != UNCHANGED and outcome.get("previous"):
                back = await ssh.run(conn, cmd.argv("rollback", "--json"), opts.command_timeout)
                message += (
                    "; rolled back" if back.exit_status == 0 else f"; rollback failed: {back.error_line()}"
                )
            return HostResult(host.name, FAILED, message, status.get("active"), status.get("previous"), False)
        action = outcome.get("action")
        result_status = UNCHANGED if action == UNCHANGED else OK
        message = f"already runs {bundle.version}" if action == UNCHANGED else f"installed {bundle.version}"
        return HostResult(
            host.name, result_status, message, status.get("active"), status.get("previous"), True
        )


async def status_host(host: Host, opts: ssh.SSHOptions) -> HostResult:
    async with await ssh.connect(host, opts) as conn:
        status = await _status(conn, DeviceCommand(host), opts)
    healthy = bool(status.get("healthy"))
    message = "healthy" if healthy else f"unhealthy: {status.get('check_error') or 'unknown'}"
    if status.get("last_error"):
        message += f" (last error: {status['last_error'].get('message')})"
    return HostResult(
        host.name, OK if healthy else FAILED, message, status.get("active"), status.get("previous"), healthy
    )


async def rollback_host(host: Host, opts: ssh.SSHOptions, *, dry_run: bool = False) -> HostResult:
    cmd = DeviceCommand(host)
    async with await ssh.connect(host, opts) as conn:
        if dry_run:
            status = await _status(conn, cmd, opts, check=False)
            target = status.get("previous")
            return HostResult(
                host.name,
                PLANNED if target else FAILED,
                f"would roll back to {target}" if target else "nothing to roll back to",
                status.get("active"),
                target,
            )
        back = await ssh.run(conn, cmd.argv("rollback", "--json"), opts.command_timeout)
        status = await _status(conn, cmd, opts)
    if back.exit_status != 0:
        return HostResult(
            host.name,
            FAILED,
            f"rollback refused: {back.error_line()}",
            status.get("active"),
            status.get("previous"),
            status.get("healthy"),
        )
    if not status.get("healthy"):
        return HostResult(
            host.name,
            FAILED,
            f"health check failed: {status.get('check_error')}",
            status.get("active"),
            status.get("previous"),
            False,
        )
    return HostResult(
        host.name,
        OK,
        f"rolled back to {status.get('active')}",
        status.get("active"),
        status.get("previous"),
        True,
    )


HostAction = Callable[[Host], Awaitable[HostResult]]
Progress = Callable[[str, Host, HostResult | None], None]  # ("start" | "done", host, result)


async def _guarded(action: HostAction, host: Host, progress: Progress | None) -> HostResult:
    if progress:
        progress("start", host, None)
    started = time.monotonic()
    try:
        result = await action(host)
    except ssh.HostError as e:
        result = HostResult(host.name, FAILED, str(e))
    except Exception as e:  # one host's surprise must not take the whole rollout down
        log.exception("unexpected error on %s", host.name)
        result = HostResult(host.name, FAILED, f"internal error: {type(e).__name__}: {e}")
    result.seconds = round(time.monotonic() - started, 2)
    if progress:
        progress("done", host, result)
    return result


async def _wave(
    action: HostAction, hosts: list[Host], parallel: int, progress: Progress | None
) -> list[HostResult]:
    limit = asyncio.Semaphore(max(1, parallel))

    async def one(host: Host) -> HostResult:
        async with limit:
            return await _guarded(action, host, progress)

    return list(await asyncio.gather(*(one(h) for h in hosts)))


async def roll_out(
    action: HostAction,
    hosts: list[Host],
    *,
    parallel: int = 10,
    canary: int = 0,
    progress: Progress | None = None,
) -> list[HostResult]:
    """Canary hosts first; a canary failure leaves every other host untouched ("skipped")."""
    canaries, rest = hosts[:canary], hosts[canary:]
    results: list[HostResult] = []
    if canaries:
        results = await _wave(action, canaries, parallel, progress)
        bad = [r.host for r in results if r.failed]
        if bad:
            why = f"not attempted: canary {', '.join(bad)} failed"
            skipped = [HostResult(h.name, SKIPPED, why) for h in rest]
            for h, r in zip(rest, skipped, strict=True):
                if progress:
                    progress("done", h, r)
            return results + skipped
    return results + await _wave(action, rest, parallel, progress)


def results_json(results: list[HostResult], **extra: Any) -> dict[str, Any]:
    return {**extra, "ok": not any(r.failed for r in results), "hosts": [asdict(r) for r in results]}
