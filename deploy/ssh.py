"""SSH to a kiosk with asyncssh: the operator's ~/.ssh/config, keys, agent and known_hosts apply.

Host keys are checked against known_hosts. A host with no key there is refused, unless the
operator asked to accept new keys (`--accept-new-host-keys`, OpenSSH's `accept-new`): then its
key is recorded and used from then on. A host whose key differs from one pinned anywhere
(`--known-hosts`, ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts, or the ssh config's
UserKnownHostsFile / GlobalKnownHostsFile for the host) is refused always.

Remote commands are built from argument lists with `shlex.join`, so host variables and paths
never reach the remote shell unquoted.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from .inventory import Host

log = logging.getLogger(__name__)

CHUNK = 32 * 1024


class HostError(Exception):
    """One host could not be reached or did not do what was asked; the message is one line."""


@dataclass
class SSHOptions:
    known_hosts: Path | None = None  # default: asyncssh's (UserKnownHostsFile, ~/.ssh/known_hosts)
    accept_new_host_keys: bool = False
    config: Path | None = None  # default: ~/.ssh/config
    identities: list[str] = field(default_factory=list)
    connect_timeout: float = 10.0
    command_timeout: float = 120.0

    def known_hosts_file(self) -> Path:
        return self.known_hosts or Path("~/.ssh/known_hosts").expanduser()


@dataclass
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The device's one-line error (`digitkiosk: error: ...`), or the last line it wrote."""
        lines = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        for line in reversed(lines):
            if "error:" in line:
                return line.split("error:", 1)[1].strip()
        if lines:
            return lines[-1][:300]
        return f"exit status {self.exit_status}"


def _host_pattern(host: str, port: int | None) -> str:
    return host if port in (None, 22) else f"[{host}]:{port}"


GLOBAL_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")


def pinned_key_files(options: SSHOptions, host: str, port: int) -> list[Path]:
    """Every known_hosts file that may pin a key for `host`: --known-hosts, ~/.ssh/known_hosts,
    /etc/ssh/ssh_known_hosts, and the UserKnownHostsFile / GlobalKnownHostsFile the ssh config
    gives this host (whichever asyncssh itself was told to read)."""
    from asyncssh.config import SSHClientConfig

    files = [options.known_hosts_file(), Path("~/.ssh/known_hosts").expanduser(), GLOBAL_KNOWN_HOSTS]
    config = options.config or Path("~/.ssh/config").expanduser()
    if config.is_file():
        try:
            cfg = SSHClientConfig.load(
                None, [str(config)], False, False, False, getpass.getuser(), "", host, port
            )
        except (OSError, ValueError, asyncssh.Error) as e:
            raise HostError(f"ssh config {config}: {e}") from None
        for option in ("UserKnownHostsFile", "GlobalKnownHostsFile"):
            files += [Path(str(f)).expanduser() for f in cfg.get(option) or ()]
    return list(dict.fromkeys(files))


class _KioskClient(asyncssh.SSHClient):
    """Only consulted for a host key that the known_hosts asyncssh read does not hold: accept it
    if asked to, and only if no known_hosts file anywhere pins another key for the host (a changed
    key is an attack until shown not)."""

    def __init__(self, options: SSHOptions) -> None:
        self._options = options

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        pinned = False
        for path in pinned_key_files(self._options, host, port):
            if not path.is_file():
                continue
            try:
                known = asyncssh.read_known_hosts(str(path)).match(host, addr, port)
            except (OSError, ValueError) as e:
                log.warning("cannot read %s (%s): refusing the host key of %s", path, e, host)
                return False
            if any(k.public_data == key.public_data for k in known[2]):
                log.warning("host key for %s is revoked in %s: refusing it", host, path)
                return False
            if known[0] or known[1]:
                if not any(k.public_data == key.public_data for k in known[0]):
                    log.warning(
                        "host key for %s changed (another key is pinned in %s): refusing it", host, path
                    )
                    return False
                pinned = True
        if pinned:
            return True  # the very key pinned elsewhere (a file asyncssh was not pointed at)
        if not self._options.accept_new_host_keys:
            return False
        path = self._options.known_hosts_file()
        line = f"{_host_pattern(host, port)} {key.export_public_key('openssh').decode().strip()}\n"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
        log.warning("accepted new host key for %s (%s), recorded in %s", host, key.get_algorithm(), path)
        return True


async def connect(host: Host, options: SSHOptions) -> asyncssh.SSHClientConnection:
    kwargs: dict = {
        "client_factory": lambda: _KioskClient(options),
        "connect_timeout": options.connect_timeout,
    }
    if host.port is not None:
        kwargs["port"] = host.port
    if host.user:
        kwargs["username"] = host.user
    if options.config is not None:
        kwargs["config"] = [str(options.config)]
    if options.known_hosts is not None:
        kwargs["known_hosts"] = str(options.known_hosts) if options.known_hosts.exists() else b""
    identities = [*([host.identity] if host.identity else []), *options.identities]
    if identities:
        kwargs["client_keys"] = identities
    try:
        return await asyncssh.connect(host.address, **kwargs)
    except asyncssh.HostKeyNotVerifiable as e:
        hint = (
            ""
            if options.accept_new_host_keys
            else " (check it, then add it to known_hosts or use --accept-new-host-keys)"
        )
        raise HostError(f"host key not trusted: {e.reason}{hint}") from None
    except asyncssh.PermissionDenied:
        raise HostError("ssh: permission denied (no accepted key)") from None
    except asyncssh.DisconnectError as e:
        raise HostError(f"ssh: {e.reason}") from None
    except (TimeoutError, asyncio.TimeoutError):
        raise HostError(f"ssh: connection timed out after {options.connect_timeout:g} s") from None
    except ConnectionRefusedError:
        raise HostError(
            f"ssh: cannot connect: connection refused ({host.address}:{host.port or 22})"
        ) from None
    except OSError as e:
        raise HostError(f"ssh: cannot connect: {e.strerror or e}") from None
    except (asyncssh.KeyImportError, ValueError) as e:
        raise HostError(f"ssh: {e}") from None


async def run(conn: asyncssh.SSHClientConnection, argv: list[str], timeout: float) -> CommandResult:
    command = shlex.join(argv)
    log.debug("remote: %s", command)
    try:
        result = await asyncio.wait_for(conn.run(command, check=False), timeout)
    except (TimeoutError, asyncio.TimeoutError):
        raise HostError(f"remote command timed out after {timeout:g} s: {argv[0]} …") from None
    except (asyncssh.Error, OSError) as e:
        raise HostError(f"ssh: connection lost ({_reason(e)})") from None
    status = result.exit_status if result.exit_status is not None else 255
    return CommandResult(status, str(result.stdout or ""), str(result.stderr or ""))


async def upload(
    conn: asyncssh.SSHClientConnection, files: list[Path], remote_dir: str, rate_limit: float | None = None
) -> None:
    """Copy `files` into `remote_dir`, each written as `<name>.part` then renamed: a cut transfer
    leaves a `.part` file, never a short file under the real name. `rate_limit` in bytes/s
    (for kiosks on thin links)."""
    try:
        async with conn.start_sftp_client() as sftp:
            await sftp.makedirs(remote_dir, exist_ok=True)
            started, sent = time.monotonic(), 0
            for path in files:
                final = f"{remote_dir}/{path.name}"
                part = final + ".part"
                async with sftp.open(part, "wb") as remote:
                    with open(path, "rb") as local:
                        while chunk := local.read(CHUNK):
                            await remote.write(chunk)
                            sent += len(chunk)
                            if rate_limit:
                                ahead = sent / rate_limit - (time.monotonic() - started)
                                if ahead > 0:
                                    await asyncio.sleep(ahead)
                try:
                    await sftp.posix_rename(part, final)
                except asyncssh.SFTPError:  # servers without the posix-rename extension
                    if await sftp.exists(final):
                        await sftp.remove(final)
                    await sftp.rename(part, final)
    except (asyncssh.Error, OSError) as e:
        raise HostError(f"upload failed: {_reason(e)}") from None


async def remove_tree(conn: asyncssh.SSHClientConnection, remote_dir: str) -> None:
    try:
        async with conn.start_sftp_client() as sftp:
            await sftp.rmtree(remote_dir, ignore_errors=True)
    except (asyncssh.Error, OSError) as e:
        log.info("could not clean up %s: %s", remote_dir, _reason(e))


def _reason(e: BaseException) -> str:
    return getattr(e, "reason", None) or str(e) or type(e).__name__
