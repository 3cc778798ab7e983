"""Real OpenSSH servers on 127.0.0.1, each with its own host key and its own device root (model
store + trust directory + staging folder), and a signing key — the fleet the deploy tests push to.

The "remote" command is this venv's real `digitkiosk`, run by sshd in a login session exactly as
on a kiosk. Device roots contain spaces, quotes and `$` so that any unquoted path breaks a test.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import yaml

SSHD = Path("/usr/sbin/sshd")
VENV_BIN = Path(sys.executable).parent
DIGITKIOSK = VENV_BIN / "digitkiosk"
POOL_SIZE = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ssh_keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return path


@dataclass
class SSHServer:
    """One sshd in the foreground (-D -e), as the current user, on its own port and host key."""

    root: Path
    authorized_keys: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.host_key = self.root / "ssh_host_ed25519_key"
        if not self.host_key.exists():
            ssh_keygen(self.host_key)
        self.config = self.root / "sshd_config"
        self.log = self.root / "sshd.log"

    @property
    def host_key_line(self) -> str:
        algo, blob = (self.root / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {algo} {blob}\n"

    def start(self) -> SSHServer:
        self.config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\nPidFile none\n"
            f"UsePAM no\nStrictModes no\nAuthorizedKeysFile {self.authorized_keys}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\nLogLevel ERROR\n"
            "MaxStartups 100:30:200\nMaxSessions 50\n"
        )
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
        self.proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sshd did not start: {self.log.read_text()[-800:]}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """Kill the listener and every session it forked: the network cable pulled out."""
        if self.proc is None:
            return
        try:
            family = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        self.proc.kill()
        for child in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.proc.wait(5)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


@pytest.fixture(scope="session")
def ssh_user_key(tmp_path_factory) -> Path:
    if not SSHD.exists():
        pytest.fail("openssh-server is not installed (/usr/sbin/sshd): apt-get install openssh-server")
    d = tmp_path_factory.mktemp("sshuser")
    key = ssh_keygen(d / "id_ed25519")
    (d / "authorized_keys").write_text((d / "id_ed25519.pub").read_text())
    return key


@pytest.fixture(scope="session")
def authorized_keys(ssh_user_key: Path) -> Path:
    return ssh_user_key.parent / "authorized_keys"


@pytest.fixture(scope="session")
def sshd_pool(tmp_path_factory, authorized_keys: Path):
    servers = [
        SSHServer(tmp_path_factory.mktemp(f"sshd{i}"), authorized_keys).start() for i in range(POOL_SIZE)
    ]
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture()
def own_sshd(tmp_path: Path, authorized_keys: Path):
    """A server of the test's own, for tests that kill it."""
    server = SSHServer(tmp_path / "own-sshd", authorized_keys).start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory) -> Path:
    from digitkiosk.deploy.keys import keygen

    private, _public, _kid = keygen(tmp_path_factory.mktemp("signing") / "signing_key.pem")
    return private


@pytest.fixture(scope="session")
def other_signing_key(tmp_path_factory) -> Path:
    """A valid key that no kiosk trusts."""
    from digitkiosk.deploy.keys import keygen

    return keygen(tmp_path_factory.mktemp("rogue") / "rogue_key.pem")[0]


def model_version_copy(src: Path, folder: Path, version: str, key: Path | None) -> Path:
    """Copy model `src` and its card into `folder` with the card's version set (the .tflite is
    unchanged, so its sha256 still matches), signed with `key` unless None. → the card path."""
    from digitkiosk.deploy.keys import sign_model

    folder.mkdir(parents=True)
    shutil.copy2(src, folder / src.name)
    card = json.loads(src.with_suffix(".json").read_text())
    card["version"] = version
    # The regression gate's verdict that `push` requires (the same model: nothing to compare).
    card["gate"] = {"passed": True, "model_sha256": card["sha256"], "figures": {}}
    card_path = folder / src.with_suffix(".json").name
    card_path.write_text(json.dumps(card, indent=1))
    if key is not None:
        sign_model(card_path, key)
    return card_path


@pytest.fixture()
def make_model(tmp_path: Path, default_model_path: Path, signing_key: Path):
    """make_model("2030.1.1") → the card of a signed copy of the bundled model, with that version."""

    def make(version: str, key: Path | None = signing_key, folder: str | None = None) -> Path:
        return model_version_copy(default_model_path, tmp_path / "models" / (folder or version), version, key)

    return make


@dataclass
class Device:
    name: str
    server: SSHServer | None
    port: int
    root: Path

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    @property
    def trust_dir(self) -> Path:
        return self.root / "trusted keys"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    def store(self):
        from digitkiosk.device.store import ModelStore

        return ModelStore(self.store_dir, trust_dir=self.trust_dir, allow_unsigned=False)

    @property
    def active(self) -> str | None:
        return self.store().active_version


@dataclass
class Fleet:
    devices: list[Device]
    inventory: Path
    known_hosts: Path
    ssh_config: Path
    identity: Path
    tmp: Path

    def args(self, *extra: str) -> list[str]:
        """Fleet options for `digitkiosk-deploy push|status|rollback` (the ~/.ssh of whoever runs
        the tests is kept out: an empty ssh config and our own known_hosts)."""
        return [
            "--inventory",
            str(self.inventory),
            "--known-hosts",
            str(self.known_hosts),
            "--ssh-config",
            str(self.ssh_config),
            "--connect-timeout",
            "5",
            *extra,
        ]

    def device(self, name: str) -> Device:
        return next(d for d in self.devices if d.name == name)


def build_fleet(
    tmp: Path,
    servers: list[SSHServer | None],
    identity: Path,
    signing_key: Path,
    ports: list[int] | None = None,
) -> Fleet:
    """An inventory over `servers` (None: a host whose port nothing listens on)."""
    public_key = signing_key.with_name(signing_key.name.removesuffix(".pem") + ".pub")
    devices, hosts, known = [], {}, []
    for i, server in enumerate(servers, 1):
        name = f"kiosk-{i:02d}"
        root = tmp / f"device {i} 'root' $HOME"
        port = server.port if server else (ports[i - 1] if ports else free_port())
        dev = Device(name, server, port, root)
        dev.trust_dir.mkdir(parents=True)
        shutil.copy2(public_key, dev.trust_dir / "deploy.pub")
        devices.append(dev)
        hosts[name] = {
            "ansible_host": "127.0.0.1",
            "ansible_port": port,
            "digitkiosk_store": str(dev.store_dir),
            "digitkiosk_trust_dir": str(dev.trust_dir),
            "digitkiosk_staging": str(dev.staging),
        }
        if server:
            known.append(server.host_key_line)
    inventory = {
        "all": {
            "vars": {
                "ansible_user": os.environ.get("USER") or psutil.Process().username(),
                "ansible_ssh_private_key_file": str(identity),
                "digitkiosk_cmd": str(DIGITKIOSK),
            },
            "children": {"kiosks": {"hosts": hosts}},
        }
    }
    inv = tmp / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory, sort_keys=False))
    known_hosts = tmp / "known_hosts"
    known_hosts.write_text("".join(known))
    ssh_config = tmp / "ssh_config"
    ssh_config.write_text("")
    return Fleet(devices, inv, known_hosts, ssh_config, identity, tmp)


@pytest.fixture()
def fleet(tmp_path: Path, sshd_pool, ssh_user_key: Path, signing_key: Path) -> Fleet:
    return build_fleet(tmp_path / "fleet", list(sshd_pool), ssh_user_key, signing_key)


@pytest.fixture()
def fleet_of(tmp_path: Path, ssh_user_key: Path, signing_key: Path):
    """fleet_of([server, None, ...]) → a Fleet over those servers (None: a host that is down)."""

    def make(servers: list[SSHServer | None]) -> Fleet:
        return build_fleet(tmp_path / "fleet", servers, ssh_user_key, signing_key)

    return make
