"""Talking to one kiosk's `digitkiosk model ...` over SSH: the command line (inventory variables
decide the store and trust directory) and its JSON answers, read into the device's own records
(`StoreStatus`), so both sides of the contract are one type."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from digitkiosk.device.model_kinds import DEFAULT_KIND
from digitkiosk.device.store_state import StoreStatus

from . import ssh
from .inventory import Host


@dataclass
class DeviceCommand:
    """How to run `digitkiosk model ...` on one host (inventory variables decide)."""

    host: Host
    kind: str = DEFAULT_KIND  # which model's store (digitkiosk.device.model_kinds)

    def argv(self, *args: str) -> list[str]:
        base = shlex.split(self.host.command)
        # The digit model's commands are as they always were, so kiosks from before kinds still answer.
        opts: list[str] = [] if self.kind == DEFAULT_KIND else ["--kind", self.kind]
        if self.host.vars.get("digitkiosk_store"):
            opts += ["--store", str(self.host.vars["digitkiosk_store"])]
        if self.host.vars.get("digitkiosk_trust_dir"):
            opts += ["--trust-dir", str(self.host.vars["digitkiosk_trust_dir"])]
        return [*base, "model", *args, *opts]


def parse_json(text: str) -> dict[str, Any] | None:
    """The last line of `text` that is a JSON object (what a command printed last), or None."""
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


async def read_status(conn, cmd: DeviceCommand, opts: ssh.SSHOptions, check: bool = True) -> StoreStatus:
    """`digitkiosk model status` on the host; with `check`, the active model is loaded and
    self-tested there now (the health check)."""
    args = ["status", "--json"] + ([] if check else ["--no-check"])
    result = await ssh.run(conn, cmd.argv(*args), opts.command_timeout)
    status = parse_json(result.stdout)
    if status is None:
        raise ssh.HostError(f"status failed: {result.error_line()}")
    return StoreStatus.from_json(status)
