"""`digitkiosk-deploy collect`: pull the kiosks' new samples over the same SSH path as `push`.

Per host, with the host's `digitkiosk samples` (`samples_command`: the inventory's
`digitkiosk_samples_cmd`; else, on a kiosk provisioned with the deploy account's model wrapper,
its samples wrapper `sudo -n -u kiosk .../digitkiosk-samples` (deploy/provision/corrections.sh);
else `digitkiosk_cmd`. `digitkiosk_samples` names the store folder, else the kiosk's default; the
wrapper fixes the folder and refuses it):

1. `samples count --json`: the store's last id. Below the mark kept for this host means the
   store was made anew (ids restart): the mark goes back to 0, and de-duplication keeps what was
   already fetched from appearing twice.
2. `samples export --after-id MARK` (`--all`: the unconfirmed readings too): every line must be a
   sample with an id above the mark, or the host fails with the line named and nothing of it is
   kept (a host returning garbage costs only itself).
3. The new samples (by uid, against everything already in OUT) go to `OUT/<host>/<first>-<last>
   .jsonl` (written atomically), then the mark moves in `OUT/state.json` (atomically). A crash
   between the two fetches the same samples again next time, and de-duplication drops them.
4. `--purge`: `samples purge --up-to-id LAST` once both are on disk (without `--all`, the
   unconfirmed readings up to that id go too: they were not asked for).

Hosts run in parallel (`--parallel`); a host that is down is reported and the others complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from digitkiosk.device.fileutil import atomic_write_text
from digitkiosk.device.samples.records import sample_from_json

from . import ssh
from .errors import DeployError
from .inventory import Host
from .report import DEPLOY_COLUMNS, Column, format_table
from .results import FAILED, OK, UNCHANGED, HostResult

log = logging.getLogger(__name__)

STATE = "state.json"


@dataclass
class CollectResult(HostResult):
    new: int = 0
    duplicates: int = 0
    purged: int | None = None
    last_id: int | None = None


class Collection:
    """The operator's folder of collected samples: files per host, the marks, the uids seen."""

    def __init__(self, out: Path) -> None:
        self.out = out
        try:
            out.mkdir(parents=True, exist_ok=True)
            self._lock = (out / ".lock").open("w")
        except OSError as e:
            raise DeployError(f"cannot write to {out}: {e.strerror or e}") from None
        try:  # two collects into one folder would hand out the same marks
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise DeployError(f"another collect is writing to {out}") from None
        self.state = self._read_state()
        self.seen = self._read_uids()

    def _read_state(self) -> dict[str, Any]:
        path = self.out / STATE
        if not path.exists():
            return {"hosts": {}}
        try:
            state = json.loads(path.read_text())
            if not isinstance(state.get("hosts"), dict):
                raise ValueError("no 'hosts'")
            return state
        except (OSError, ValueError, AttributeError) as e:
            raise DeployError(f"{path} is not a collect state file ({e})") from None

    def _read_uids(self) -> set[str]:
        seen: set[str] = set()
        for f in self.out.glob("*/*.jsonl"):
            for n, line in enumerate(f.read_text().splitlines(), 1):
                try:
                    seen.add(str(json.loads(line)["uid"]))
                except (ValueError, KeyError, TypeError):
                    raise DeployError(f"{f}:{n}: not a collected sample") from None
        return seen

    def mark(self, host: str) -> int:
        return int(self.state["hosts"].get(host, {}).get("last_id", 0))

    def keep(self, host: str, rows: list[dict], last_id: int, kiosk: str) -> tuple[int, int]:
        """Store the rows not seen before, then move the host's mark. → (new, duplicates)."""
        new = [r for r in rows if r["uid"] not in self.seen]
        if new:
            name = f"{new[0]['id']:06d}-{new[-1]['id']:06d}.jsonl"
            text = "".join(json.dumps({**r, "host": host}, separators=(",", ":")) + "\n" for r in new)
            atomic_write_text(self.out / _safe_name(host) / name, text, mode=0o640)
            self.seen.update(r["uid"] for r in new)
        entry = self.state["hosts"].setdefault(host, {})
        entry.update(last_id=last_id, kiosk=kiosk, collected=int(entry.get("collected", 0)) + len(new))
        atomic_write_text(self.out / STATE, json.dumps(self.state, indent=1, sort_keys=True) + "\n")
        return len(new), len(rows) - len(new)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._lock.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _safe_name(host: str) -> str:
    """An inventory name as a folder name (user@host:port from --to has characters to avoid)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in host) or "_"


# What provisioning installs (deploy/provision/install.sh, corrections.sh).
MODEL_WRAPPER, SAMPLES_WRAPPER, KIOSK_USER = "digitkiosk-model", "digitkiosk-samples", "kiosk"


def samples_command(host: Host) -> list[str]:
    """The command that runs `samples ...` on the host. A kiosk whose `digitkiosk_cmd` is the
    deploy account's model wrapper is a provisioned one: its samples are the kiosk user's, reached
    through the samples wrapper beside the model wrapper (the model wrapper, root's, refuses
    `samples`), so the inventory needs no second setting."""
    own = host.vars.get("digitkiosk_samples_cmd")
    if own:
        return shlex.split(str(own))
    base = shlex.split(host.command)
    if base[:1] == ["sudo"] and PurePosixPath(base[-1]).name == MODEL_WRAPPER:
        return ["sudo", "-n", "-u", KIOSK_USER, str(PurePosixPath(base[-1]).with_name(SAMPLES_WRAPPER))]
    return base


def _argv(host: Host, *args: str) -> list[str]:
    base = samples_command(host)
    where = ["--samples", str(host.vars["digitkiosk_samples"])] if host.vars.get("digitkiosk_samples") else []
    return [*base, "samples", *args, *where]


def parse_export(text: str, after: int) -> list[dict]:
    """The host's export → validated rows, or HostError naming the first bad line."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            sample = sample_from_json(row)
            if sample.id is None or sample.id <= after or not sample.uid:
                raise ValueError(f"needs an id above {after} and a uid")
        except ValueError as e:
            raise ssh.HostError(f"returned garbage: line {n}: {str(e)[:120]}") from None
        rows.append(row)
    return rows


async def collect_host(
    host: Host, collection: Collection, opts: ssh.SSHOptions, *, purge: bool = False, everything: bool = False
) -> CollectResult:
    async with await ssh.connect(host, opts) as conn:
        counted = await ssh.run(conn, _argv(host, "count", "--json"), opts.command_timeout)
        try:
            info = json.loads(counted.stdout) if counted.exit_status == 0 else None
            last = int(info["last_id"])
            kiosk = str(info.get("kiosk", ""))
        except (ValueError, KeyError, TypeError):
            info = None
        if info is None:
            why = counted.error_line() if counted.exit_status else "returned garbage for count"
            return CollectResult(host.name, FAILED, why)
        mark = collection.mark(host.name)
        note = ""
        if last < mark:
            note, mark = f" (store was reset: last id {last} < mark)", 0
        args = ["export", "--after-id", str(mark)] + (["--all"] if everything else [])
        exported = await ssh.run(conn, _argv(host, *args), opts.command_timeout)
        if exported.exit_status != 0:
            return CollectResult(host.name, FAILED, f"export failed: {exported.error_line()}")
        rows = parse_export(exported.stdout, mark)
        top = max([mark, *(r["id"] for r in rows)])
        new, dupes = collection.keep(host.name, rows, top, kiosk)
        result = CollectResult(
            host.name, OK if new else UNCHANGED, "", new=new, duplicates=dupes, last_id=top
        )
        result.message = f"{new} new" + (f", {dupes} already collected" if dupes else "") + note
        if purge and top > 0:
            purged = await ssh.run(conn, _argv(host, "purge", "--up-to-id", str(top)), opts.command_timeout)
            if purged.exit_status != 0:
                result.status = FAILED
                result.message += f"; purge failed: {purged.error_line()}"
            else:
                words = purged.stdout.split()
                result.purged = int(words[1]) if len(words) > 1 and words[1].isdigit() else None
                result.message += f", purged {result.purged}"
        return result


def _cell(name: str) -> Callable[[HostResult], str]:
    def get(r: HostResult) -> str:
        v = getattr(r, name, None)  # a host that failed to connect has a plain HostResult
        return "-" if v is None else str(v)

    return get


COLUMNS: tuple[Column, ...] = (
    *DEPLOY_COLUMNS[:2],
    ("NEW", _cell("new")),
    ("DUPLICATES", _cell("duplicates")),
    ("PURGED", _cell("purged")),
    *DEPLOY_COLUMNS[-2:],
)


def table(results: list[HostResult]) -> str:
    new = sum(getattr(r, "new", 0) for r in results)
    return format_table(results, COLUMNS, summary=f"{new} new samples")
