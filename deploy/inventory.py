"""Which kiosks to talk to: `--to HOST[,HOST…]` or an Ansible-style YAML inventory.

    all:
      vars: {digitkiosk_cmd: sudo -n /usr/local/sbin/digitkiosk-model}
      hosts:
        kiosk-01: {ansible_host: 10.0.0.11, ansible_user: pi}
      children:
        lobby:
          hosts:
            kiosk-[02:05]:            # ranges expand as in Ansible
          vars: {ansible_user: pi}

Variables apply from the outside in (all → parent group → child group → host), as in Ansible.
Besides the ansible_* connection variables, hosts may set:
  digitkiosk_cmd         the device command (default `digitkiosk`; on a provisioned kiosk
                         `sudo -n /usr/local/sbin/digitkiosk-model`, the deploy account's wrapper)
  digitkiosk_store       --store passed to it; digitkiosk_trust_dir: --trust-dir (not with the
                         wrapper: it fixes both)
  digitkiosk_staging     where uploads land before install (default .cache/digitkiosk/staging,
                         relative to the login directory)
  digitkiosk_samples_cmd what `collect` runs `samples ...` with (default digitkiosk_cmd; with the
                         model wrapper, `sudo -n -u kiosk /usr/local/sbin/digitkiosk-samples`,
                         installed by `install.sh --corrections`); digitkiosk_samples: --samples
                         (not with the wrapper: it fixes the folder)
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DeployError

DEFAULT_CMD = "digitkiosk"
DEFAULT_STAGING = ".cache/digitkiosk/staging"
RANGE_RE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::(\d+))?\]")


@dataclass
class Host:
    name: str  # what the operator calls it (inventory name, or as given to --to)
    address: str  # what we connect to (ansible_host, else the name; ~/.ssh/config may map it further)
    port: int | None = None  # None: ~/.ssh/config or 22
    user: str | None = None  # None: ~/.ssh/config or the local user
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return str(self.vars.get("digitkiosk_cmd") or DEFAULT_CMD)

    @property
    def staging(self) -> str:
        return str(self.vars.get("digitkiosk_staging") or DEFAULT_STAGING)

    @property
    def identity(self) -> str | None:
        key = self.vars.get("ansible_ssh_private_key_file") or self.vars.get("ansible_private_key_file")
        return str(Path(str(key)).expanduser()) if key else None


def parse_target(text: str) -> Host:
    """`[user@]host[:port]`; IPv6 as `[::1]:2222`."""
    user = None
    if "@" in text:
        user, text = text.rsplit("@", 1)
    port = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, p = text.split(":")
        port = _port(p, text)
    else:
        host = text
    if not host or not re.fullmatch(r"[A-Za-z0-9._:%-]+", host) or host.startswith("-"):
        raise DeployError(f"not a host name: {text!r}")
    return Host(name=text if port is None else f"{host}:{port}", address=host, port=port, user=user or None)


def _port(value: str, where: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise DeployError(f"bad port in {where!r}")
    return int(value)


def parse_targets(spec: str) -> list[Host]:
    hosts = [parse_target(t.strip()) for t in spec.split(",") if t.strip()]
    if not hosts:
        raise DeployError("--to names no hosts")
    return _dedupe(hosts)


def expand_ranges(pattern: str) -> list[str]:
    """`kiosk-[01:03]` → kiosk-01, kiosk-02, kiosk-03 (Ansible's numeric and letter ranges)."""
    m = RANGE_RE.search(pattern)
    if not m:
        return [pattern]
    start, end, step = m.group(1), m.group(2), int(m.group(3) or 1)
    head, tail = pattern[: m.start()], pattern[m.end() :]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        items = [str(i).zfill(width) for i in range(int(start), int(end) + 1, step)]
    elif len(start) == 1 and len(end) == 1 and start in string.ascii_letters and end in string.ascii_letters:
        items = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        raise DeployError(f"bad host range in {pattern!r}")
    return [name for item in items for name in expand_ranges(head + item + tail)]


class Inventory:
    def __init__(self, data: Any, source: str) -> None:
        self.source = source
        self.hosts: dict[str, Host] = {}  # in order of first appearance
        self.groups: dict[str, list[str]] = {}
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise DeployError(f"inventory {source}: expected a mapping of groups at the top")
        # Ansible lets top-level groups sit beside `all`; they are all's children.
        top = dict(data)
        root = top.pop("all", None) or {}
        if not isinstance(root, dict):
            raise DeployError(f"inventory {source}: 'all' must be a mapping")
        children = dict(root.get("children") or {})
        children.update(top)
        self._layers: dict[str, list[tuple[int, int, dict[str, Any]]]] = {}
        self._own: dict[str, dict[str, Any]] = {}
        self._walk("all", {**root, "children": children}, {}, [])
        self._finish()

    def _walk(self, group: str, body: Any, inherited: dict[str, Any], path: list[str]) -> list[str]:
        if group in path:
            raise DeployError(f"inventory {self.source}: group {group!r} contains itself")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise DeployError(f"inventory {self.source}: group {group!r} must be a mapping")
        group_vars = {**inherited, **_mapping(body.get("vars"), f"{group} vars", self.source)}
        members: list[str] = []
        for pattern, host_vars in _mapping(body.get("hosts"), f"{group} hosts", self.source).items():
            for name in expand_ranges(str(pattern)):
                self._add_host(name, group_vars, len(path), _mapping(host_vars, f"host {name}", self.source))
                members.append(name)
        for child, child_body in _mapping(body.get("children"), f"{group} children", self.source).items():
            members.extend(self._walk(str(child), child_body, group_vars, [*path, group]))
        unique = list(dict.fromkeys(members))
        self.groups[group] = list(dict.fromkeys([*self.groups.get(group, []), *unique]))
        return unique

    def _add_host(self, name: str, group_vars: dict[str, Any], depth: int, host_vars: dict[str, Any]) -> None:
        self.hosts.setdefault(name, Host(name=name, address=name))
        self._layers.setdefault(name, []).append((depth, len(self._layers[name]), group_vars))
        self._own.setdefault(name, {}).update(host_vars)

    def _finish(self) -> None:
        """Merge variables as Ansible does: shallower groups first, deeper ones override, the
        host's own variables last."""
        for name, host in self.hosts.items():
            merged: dict[str, Any] = {}
            for _depth, _order, layer in sorted(self._layers[name], key=lambda t: (t[0], t[1])):
                merged.update(layer)
            merged.update(self._own[name])
            host.vars = merged
            host.address = str(merged.get("ansible_host") or name)
            port = merged.get("ansible_port")
            try:
                host.port = int(port) if port not in (None, "") else None
            except (TypeError, ValueError):
                raise DeployError(f"inventory {self.source}: host {name} has a bad ansible_port") from None
            user = merged.get("ansible_user")
            host.user = str(user) if user else None

    def select(self, group: str | None = None) -> list[Host]:
        if group is None:
            names = list(self.hosts)
        elif group in self.groups:
            names = self.groups[group]
        elif group in self.hosts:
            names = [group]
        else:
            raise DeployError(f"inventory {self.source} has no group or host {group!r}")
        if not names:
            raise DeployError(f"inventory {self.source}: group {group or 'all'!r} has no hosts")
        return [self.hosts[n] for n in names]


def _mapping(value: Any, what: str, source: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DeployError(f"inventory {source}: {what} must be a mapping")
    return value


def load_inventory(path: str | Path) -> Inventory:
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeployError(f"inventory not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DeployError(f"cannot read inventory {path}: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise DeployError(f"inventory {path}{where} is not valid YAML") from None
    return Inventory(data, str(path))


def _dedupe(hosts: list[Host]) -> list[Host]:
    seen: dict[str, Host] = {}
    for h in hosts:
        seen.setdefault(h.name, h)
    return list(seen.values())
