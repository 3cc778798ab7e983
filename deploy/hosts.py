"""What happens on each kiosk: push, status and rollback, one host each.

push: upload the model, card and signature to a staging folder → `digitkiosk model install`
(the device verifies and self-tests before it switches) → `digitkiosk model status` as the
health check (the active version is ours, and the model loads and passes its self-test now). A
host that fails the health check after switching is rolled back on the spot.

Each acts on one kind of model's store on the kiosk (`--kind`; the digit model's by default).
"""

from __future__ import annotations

from typing import Any

from digitkiosk.device.model_kinds import DEFAULT_KIND

from . import ssh
from .bundle import ModelBundle
from .device_command import DeviceCommand, parse_json, read_status
from .inventory import Host
from .results import FAILED, OK, PLANNED, UNCHANGED, HostResult


async def push_host(
    host: Host,
    bundle: ModelBundle,
    opts: ssh.SSHOptions,
    *,
    dry_run: bool = False,
    allow_downgrade: bool = False,
    rate_limit: float | None = None,
) -> HostResult:
    cmd = DeviceCommand(host, bundle.kind)
    async with await ssh.connect(host, opts) as conn:
        # Cheap look first (no model load): a host that already runs this exact model gets
        # nothing uploaded, only the health check.
        before = await read_status(conn, cmd, opts, check=False)
        already = before.active == bundle.version and before.card_sha256 == bundle.card_sha256
        if dry_run:
            if already:
                return HostResult.seen(host.name, UNCHANGED, f"already runs {before.active}", before)
            message = f"would install {bundle.version} (now {before.active or 'none'})"
            return HostResult.seen(host.name, PLANNED, message, before)
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
            outcome = parse_json(installed.stdout) if installed.exit_status == 0 else None
            if outcome is None:
                status = await read_status(conn, cmd, opts, check=False)
                return HostResult.seen(host.name, FAILED, f"refused: {installed.error_line()}", status)
        status = await read_status(conn, cmd, opts)
        if status.active != bundle.version or not status.healthy:
            why = status.check_error or f"active version is {status.active}"
            message = f"health check failed: {why}"
            if outcome.get("action") != UNCHANGED and outcome.get("previous"):
                back = await ssh.run(conn, cmd.argv("rollback", "--json"), opts.command_timeout)
                message += (
                    "; rolled back" if back.exit_status == 0 else f"; rollback failed: {back.error_line()}"
                )
            return HostResult.seen(host.name, FAILED, message, status, healthy=False)
        if outcome.get("action") == UNCHANGED:
            return HostResult.seen(
                host.name, UNCHANGED, f"already runs {bundle.version}", status, healthy=True
            )
        return HostResult.seen(host.name, OK, f"installed {bundle.version}", status, healthy=True)


async def status_host(host: Host, opts: ssh.SSHOptions, *, kind: str = DEFAULT_KIND) -> HostResult:
    async with await ssh.connect(host, opts) as conn:
        status = await read_status(conn, DeviceCommand(host, kind), opts)
    healthy = bool(status.healthy)
    message = "healthy" if healthy else f"unhealthy: {status.check_error or 'unknown'}"
    if status.last_error:
        message += f" (last error: {status.last_error_message})"
    return HostResult.seen(host.name, OK if healthy else FAILED, message, status, healthy=healthy)


async def rollback_host(
    host: Host, opts: ssh.SSHOptions, *, dry_run: bool = False, kind: str = DEFAULT_KIND
) -> HostResult:
    cmd = DeviceCommand(host, kind)
    async with await ssh.connect(host, opts) as conn:
        if dry_run:
            status = await read_status(conn, cmd, opts, check=False)
            target = status.previous
            if target:
                return HostResult.seen(host.name, PLANNED, f"would roll back to {target}", status)
            return HostResult.seen(host.name, FAILED, "nothing to roll back to", status)
        back = await ssh.run(conn, cmd.argv("rollback", "--json"), opts.command_timeout)
        status = await read_status(conn, cmd, opts)
    if back.exit_status != 0:
        return HostResult.seen(
            host.name, FAILED, f"rollback refused: {back.error_line()}", status, healthy=status.healthy
        )
    if not status.healthy:
        return HostResult.seen(host.name, FAILED, f"health check failed: {status.check_error}", status, False)
    return HostResult.seen(host.name, OK, f"rolled back to {status.active}", status, healthy=True)
