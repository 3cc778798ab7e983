"""Issue 19, row 1: what the deploy account can do through the real `sudo`, with the rule and the
wrapper that provisioning installs (deploy/provision/digitkiosk.sudoers, digitkiosk-model), run as
a real unprivileged user: install, activate, roll back, read status — and nothing that changes the
trust policy, the store or the trust directory."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROVISION = Path(__file__).resolve().parents[2] / "deploy" / "provision"
DIGITKIOSK = Path(sys.executable).parent / "digitkiosk"
USER = "dk-trust-deploy"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("sudo") and shutil.which("visudo") and shutil.which("useradd")),
    reason="needs root, sudo, visudo and useradd (make test installs sudo)",
)


@pytest.fixture(scope="module")
def deploy_user():
    created = False
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True
        )
        created = True
    yield pwd.getpwnam(USER)
    if created:
        subprocess.run(["userdel", USER], check=False)


class Kiosk:
    """A provisioned kiosk in a root-owned folder: store, trust dir, wrapper and the sudo rule."""

    def __init__(self, base: Path, user: pwd.struct_passwd, signing_key: Path) -> None:
        self.base, self.user = base, user
        self.store = base / "store"
        self.trust = base / "trusted_keys"
        self.trust.mkdir(mode=0o755)
        shutil.copy2(signing_key.with_name("signing_key.pub"), self.trust / "deploy.pub")
        self.staging = base / "staging"
        self.staging.mkdir()
        os.chown(self.staging, user.pw_uid, user.pw_gid)
        self.wrapper = base / "digitkiosk-model"
        text = (PROVISION / "digitkiosk-model").read_text()
        for name, value in (("DIGITKIOSK", DIGITKIOSK), ("STORE", self.store), ("TRUST_DIR", self.trust)):
            old = next(line for line in text.splitlines() if line.startswith(f"{name}="))
            text = text.replace(old, f"{name}={value}")
        self.wrapper.write_text(text)
        self.wrapper.chmod(0o755)
        self.rule = (
            (PROVISION / "digitkiosk.sudoers")
            .read_text()
            .replace("@DEPLOY_USER@", user.pw_name)
            .replace("@WRAPPER@", str(self.wrapper))
        )
        rule_file = base / "rule"
        rule_file.write_text(self.rule)
        check = subprocess.run(["visudo", "-cf", str(rule_file)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.sudoers = Path("/etc/sudoers.d") / f"dk-trust-test-{os.getpid()}"
        shutil.copy(rule_file, self.sudoers)
        self.sudoers.chmod(0o440)

    def upload(self, card: Path) -> Path:
        """What `digitkiosk-deploy push` does over SFTP: the files land in the user's staging."""
        folder = self.staging / card.parent.name
        folder.mkdir()
        for f in card.parent.iterdir():
            shutil.copy(f, folder / f.name)
            os.chown(folder / f.name, self.user.pw_uid, self.user.pw_gid)
        os.chown(folder, self.user.pw_uid, self.user.pw_gid)
        return folder / card.name

    def as_user(self, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(argv),
            user=self.user.pw_uid,
            group=self.user.pw_gid,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin", **(env or {})},
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def sudo(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """As `digitkiosk-deploy` runs it: `sudo -n <wrapper> model ACTION ...`."""
        return self.as_user("sudo", "-n", str(self.wrapper), "model", *args, env=env)

    def active(self) -> str | None:
        from digitkiosk.device.store import ModelStore

        return ModelStore(self.store, trust_dir=self.trust).active_version

    def close(self) -> None:
        self.sudoers.unlink(missing_ok=True)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture()
def kiosk(deploy_user, signing_key):
    base = Path(tempfile.mkdtemp(prefix="dk-sudo-"))
    base.chmod(0o755)  # the deploy user can reach its staging folder, nothing here is theirs
    k = Kiosk(base, deploy_user, signing_key)
    yield k
    k.close()


def test_rule_names_only_the_wrapper(kiosk):
    line = [ln for ln in kiosk.rule.splitlines() if ln and not ln.startswith("#")]
    assert line == [f"{USER} ALL=(root) NOPASSWD: {kiosk.wrapper}"]
    assert "*" not in line[0]


def test_deploy_user_can_install_activate_roll_back_and_read_status(kiosk, make_model):
    first = kiosk.upload(make_model("2030.1.1"))
    second = kiosk.upload(make_model("2030.2.1"))
    r = kiosk.sudo("install", str(first), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["action"] == "installed"
    assert kiosk.sudo("install", str(second), "--json").returncode == 0
    status = kiosk.sudo("status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["healthy"]
    assert kiosk.sudo("rollback", "--json").returncode == 0 and kiosk.active() == "2030.1.1"
    assert kiosk.sudo("activate", "2030.2.1").returncode == 0 and kiosk.active() == "2030.2.1"
    assert kiosk.sudo("list", "--json").returncode == 0
    assert kiosk.sudo("status", "--no-check").returncode == 0


@pytest.mark.parametrize(
    "extra",
    [
        ["--allow-unsigned"],
        ["--trust-dir", "/tmp"],
        ["--store", "/tmp"],
        ["--verbose"],
        ["--allow-unsigned=1"],
    ],
)
def test_no_option_changing_trust_or_store_gets_through(kiosk, make_model, extra):
    unsigned = make_model("2030.1.1", key=None)
    json_card = json.loads(unsigned.read_text())
    json_card["reject_threshold"] = 0.0
    unsigned.write_text(json.dumps(json_card))
    card = kiosk.upload(unsigned)
    r = kiosk.sudo("install", str(card), *extra)
    assert r.returncode == 2 and "not allowed" in r.stderr and r.stderr.count("\n") == 1
    r = kiosk.sudo("status", *extra)
    assert r.returncode == 2 and "not allowed" in r.stderr
    assert kiosk.active() is None and not kiosk.store.exists()


def test_unsigned_model_refused_whatever_the_callers_environment(kiosk, make_model, tmp_path):
    card = kiosk.upload(make_model("2030.1.1", key=None))
    evil = {"DIGITKIOSK_ALLOW_UNSIGNED": "1", "DIGITKIOSK_TRUST_DIR": str(kiosk.staging)}
    r = kiosk.sudo("install", str(card), env=evil)
    assert r.returncode == 2 and "not signed" in r.stderr
    assert kiosk.active() is None


def test_nothing_else_runs_as_root(kiosk, make_model):
    card = kiosk.upload(make_model("2030.1.1"))
    for argv in (
        [str(DIGITKIOSK), "model", "install", str(card), "--allow-unsigned"],
        ["/bin/sh", "-c", "id"],
        [str(kiosk.wrapper) + "x"],
    ):
        r = kiosk.as_user("sudo", "-n", *argv)
        assert r.returncode == 1 and "password is required" in r.stderr, (argv, r.stderr)
    for bad in (["install", "-x.json"], ["activate", "../../etc"], ["shell"], ["install"], []):
        r = kiosk.as_user("sudo", "-n", str(kiosk.wrapper), *bad)
        assert r.returncode == 2 and "digitkiosk-model: error:" in r.stderr, (bad, r.stderr)
    assert kiosk.active() is None


def test_deploy_user_can_install_each_kind_of_model_and_nothing_else_as_kind(kiosk, signing_key, tmp_path):
    from digitkiosk.device.store import ModelStore

    from tests.conftest import model_version_copy

    models = Path(__file__).resolve().parents[2] / "models"
    paper = kiosk.upload(
        model_version_copy(models / "papernet.tflite", tmp_path / "paper", "2030.1.1", signing_key)
    )
    r = kiosk.sudo("install", str(paper), "--kind", "paper", "--json")
    assert r.returncode == 0, r.stderr
    assert ModelStore(kiosk.store, kind="paper", trust_dir=kiosk.trust).active_version == "2030.1.1"
    status = kiosk.sudo("status", "--json", "--kind", "paper")
    assert status.returncode == 0 and json.loads(status.stdout)["kind"] == "paper"
    assert kiosk.active() is None  # the digit model's store: nothing was installed there
    for bad in (["--kind", "../digit"], ["--kind", "camera"], ["--kind"], ["--kind", "paper=1"]):
        r = kiosk.sudo("status", *bad)
        assert r.returncode == 2 and "digitkiosk-model: error: --kind must be" in r.stderr, (bad, r.stderr)
