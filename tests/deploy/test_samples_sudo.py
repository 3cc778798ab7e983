"""Issue 18, provisioning: corrections.sh (what `install.sh --corrections` runs), run for real in a
scratch folder with real users, then the deploy account collecting through the real `sudo` and
the digitkiosk-samples wrapper as the kiosk's user, with exactly the commands `digitkiosk-deploy
collect` sends; and everything outside the wrapper's grammar refused."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from digitkiosk.deploy.collect import _argv, parse_export, samples_command
from digitkiosk.deploy.inventory import Host

from tests.samples.conftest import pen_sample

PROVISION = Path(__file__).resolve().parents[2] / "deploy" / "provision"
DIGITKIOSK = Path(sys.executable).parent / "digitkiosk"
DEPLOY, KIOSK = "dk-samples-deploy", "dk-samples-kiosk"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (shutil.which("sudo") and shutil.which("visudo") and shutil.which("useradd")),
    reason="needs root, sudo, visudo and useradd (make test installs sudo)",
)


@pytest.fixture(scope="module")
def users():
    made = []
    for name in (DEPLOY, KIOSK):
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True
            )
            made.append(name)
    yield pwd.getpwnam(DEPLOY), pwd.getpwnam(KIOSK)
    for name in made:
        subprocess.run(["userdel", name], check=False)


LAUNCHER = """#!{python}
# The real `digitkiosk` (device/cli.py), on an interpreter the kiosk's user can run.
import sys
sys.path.insert(0, {where!r})
from digitkiosk.device.cli import main
sys.exit(main())
"""


@pytest.fixture(scope="module")
def kiosk_digitkiosk(users) -> Iterator[Path]:
    """The `digitkiosk` the wrapper runs as the kiosk's user: this venv's when that user can run
    it (on a kiosk, /opt/digitkiosk/venv), else the same code through the system's Python 3 (a
    venv whose interpreter lies under root's home cannot be run by anyone else; `samples` needs
    only the standard library)."""
    kiosk = users[1]
    try:
        runs = subprocess.run([str(DIGITKIOSK), "--version"], user=kiosk.pw_uid, group=kiosk.pw_gid,
                              extra_groups=[], capture_output=True, timeout=60).returncode == 0  # fmt: skip
    except PermissionError:
        runs = False
    if runs:
        yield DIGITKIOSK
        return
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("the kiosk's user can run neither this venv's digitkiosk nor /usr/bin/python3")
    base = Path(tempfile.mkdtemp(prefix="dk-samples-bin-"))
    base.chmod(0o755)
    (base / "digitkiosk").symlink_to(Path(__file__).resolve().parents[2])
    launcher = base / "digitkiosk-launcher"
    launcher.write_text(LAUNCHER.format(python=python, where=str(base)))
    launcher.chmod(0o755)
    yield launcher
    shutil.rmtree(base, ignore_errors=True)


class Provisioned:
    """corrections.sh's work in a root-owned scratch folder (the sudoers rule in /etc/sudoers.d,
    where sudo reads it)."""

    def __init__(self, base: Path, deploy: pwd.struct_passwd, digitkiosk: Path) -> None:
        self.base, self.deploy, self.digitkiosk = base, deploy, digitkiosk
        self.samples = base / "var" / "samples"
        self.samples.parent.mkdir(parents=True)
        self.dropin = base / "etc" / "digitkiosk-kiosk.service.d" / "samples.conf"
        self.wrapper = base / "sbin" / "digitkiosk-samples"
        self.sudoers = Path("/etc/sudoers.d") / f"dk-samples-test-{os.getpid()}"
        self.paths = ["--samples", str(self.samples), "--dropin", str(self.dropin),
                      "--wrapper", str(self.wrapper), "--sudoers", str(self.sudoers)]  # fmt: skip

    def script(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(PROVISION / "corrections.sh"), *args], capture_output=True, text=True, timeout=60
        )

    def enable(self) -> None:
        r = self.script("enable", "--kiosk-user", KIOSK, "--deploy-user", DEPLOY, *self.paths,
                        "--digitkiosk", str(self.digitkiosk))  # fmt: skip
        assert r.returncode == 0, r.stderr

    def host(self) -> Host:
        """An inventory host as collect sees it, its samples command pointing at this wrapper."""
        return Host(
            "kiosk-1", "kiosk-1", vars={"digitkiosk_samples_cmd": f"sudo -n -u {KIOSK} {self.wrapper}"}
        )

    def as_deploy(self, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(argv),
            user=self.deploy.pw_uid,
            group=self.deploy.pw_gid,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin", **(env or {})},
            cwd="/",
            capture_output=True,
            text=True,
            timeout=120,
        )

    def collect_step(self, *args: str) -> subprocess.CompletedProcess:
        """What collect runs over SSH for `samples ARGS` (collect._argv), run as the deploy user."""
        return self.as_deploy(*_argv(self.host(), *args))

    def fill(self, rows: list[dict], kiosk: pwd.struct_passwd) -> None:
        """Samples as the kiosk would have kept them (its store, its files)."""
        from digitkiosk.device.samples import SampleStore

        with SampleStore(self.samples, kiosk="kiosk-1") as store:
            for i, row in enumerate(rows):
                store.add(pen_sample(row, t=time.time() - 3600 + i, confirmed=i < 4))
        for p in [self.samples, *self.samples.rglob("*")]:
            os.chown(p, kiosk.pw_uid, kiosk.pw_gid)

    def close(self) -> None:
        self.sudoers.unlink(missing_ok=True)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture()
def kiosk(users, kiosk_digitkiosk):
    base = Path(tempfile.mkdtemp(prefix="dk-samples-"))
    base.chmod(0o755)
    k = Provisioned(base, users[0], kiosk_digitkiosk)
    yield k
    k.close()


def test_corrections_sh_provisions_folder_service_wrapper_and_rule(kiosk, users):
    kiosk.enable()
    st = kiosk.samples.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (users[1].pw_uid, 0o750)
    assert f"Environment=DIGITKIOSK_SAMPLES={kiosk.samples}" in kiosk.dropin.read_text().splitlines()
    w = kiosk.wrapper.stat()
    assert (w.st_uid, stat.S_IMODE(w.st_mode)) == (0, 0o755)
    assert f"SAMPLES={kiosk.samples}" in kiosk.wrapper.read_text().splitlines()
    s = kiosk.sudoers.stat()
    assert (s.st_uid, stat.S_IMODE(s.st_mode)) == (0, 0o440)
    rule = [ln for ln in kiosk.sudoers.read_text().splitlines() if ln and not ln.startswith("#")]
    assert rule == [f"{DEPLOY} ALL=({KIOSK}) NOPASSWD: {kiosk.wrapper}"]
    assert subprocess.run(["visudo", "-cf", str(kiosk.sudoers)], capture_output=True).returncode == 0
    assert not [p for p in kiosk.sudoers.parent.iterdir() if p.name.startswith(".dk-samples")]
    # Run again (an upgrade): the same result. Then off: the rule and the setting go, samples stay.
    kiosk.enable()
    r = kiosk.script("disable", *kiosk.paths)
    assert r.returncode == 0, r.stderr
    assert not kiosk.sudoers.exists() and not kiosk.dropin.exists() and kiosk.samples.is_dir()


def test_corrections_sh_refuses_bad_input(kiosk):
    for args, said in (
        (["enable", *kiosk.paths], "needs --kiosk-user"),
        (["enable", "--kiosk-user", "no-such-user-dk", *kiosk.paths], "no such user"),
        (["enable", "--kiosk-user", "root;id", *kiosk.paths], "not a user name"),
        (["enable", "--kiosk-user", KIOSK, "--samples", "relative/dir"], "not an absolute path"),
        (["wipe"], "unknown action"),
    ):
        r = kiosk.script(*args)
        assert r.returncode == 2 and said in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
    assert not kiosk.samples.exists() and not kiosk.sudoers.exists()


def test_deploy_account_collects_and_purges_with_collects_own_commands(kiosk, users, pendigits_train):
    kiosk.enable()
    kiosk.fill(pendigits_train[:6], users[1])
    r = kiosk.collect_step("count", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert (info["kiosk"], info["samples"], info["corrections"], info["last_id"]) == ("kiosk-1", 6, 4, 6)
    r = kiosk.collect_step("export", "--after-id", "0")
    assert r.returncode == 0, r.stderr
    assert [row["id"] for row in parse_export(r.stdout, 0)] == [1, 2, 3, 4]  # the corrections
    r = kiosk.collect_step("export", "--after-id", "2", "--all")
    assert [row["id"] for row in parse_export(r.stdout, 2)] == [3, 4, 5, 6]
    r = kiosk.collect_step("purge", "--up-to-id", "4")
    assert r.returncode == 0 and r.stdout.split()[:2] == ["purged", "4"], r.stdout + r.stderr
    assert json.loads(kiosk.collect_step("count", "--json").stdout)["samples"] == 2
    # The deploy account cannot read the folder itself: only through the wrapper.
    assert kiosk.as_deploy("ls", str(kiosk.samples)).returncode != 0


@pytest.mark.parametrize(
    "args",
    [
        ["count", "--samples", "/tmp"],
        ["export", "--samples=/tmp"],
        ["purge"],
        ["purge", "--since", "1d"],
        ["purge", "--up-to-id", "4;id"],
        ["export", "--after-id", "-1"],
        ["export", "--since", "$(id)"],
        ["count", "--verbose"],
        ["kiosk"],
        ["model", "install", "x.json"],
        [],
    ],
)
def test_nothing_outside_the_grammar(kiosk, users, pendigits_train, args):
    kiosk.enable()
    kiosk.fill(pendigits_train[:3], users[1])
    r = kiosk.as_deploy("sudo", "-n", "-u", KIOSK, str(kiosk.wrapper), *args)
    assert r.returncode == 2 and "digitkiosk-samples: error:" in r.stderr and r.stderr.count("\n") == 1, (
        args,
        r.stderr,
    )
    assert json.loads(kiosk.collect_step("count", "--json").stdout)["samples"] == 3  # nothing purged


def test_callers_environment_and_other_commands_do_not_get_through(kiosk, users, pendigits_train, tmp_path):
    kiosk.enable()
    kiosk.fill(pendigits_train[:3], users[1])
    elsewhere = Path(tempfile.mkdtemp(prefix="dk-samples-other-"))
    try:
        r = kiosk.as_deploy(
            *_argv(kiosk.host(), "count", "--json"), env={"DIGITKIOSK_SAMPLES": str(elsewhere)}
        )
        assert (
            r.returncode == 0 and json.loads(r.stdout)["samples"] == 3
        )  # the fixed folder, not the caller's
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)
    for argv in (
        ["sudo", "-n", str(kiosk.wrapper), "count"],  # as root: not in the rule
        [
            "sudo",
            "-n",
            "-u",
            KIOSK,
            str(kiosk.digitkiosk),
            "samples",
            "purge",
            "--samples",
            str(kiosk.samples),
        ],
        ["sudo", "-n", "-u", KIOSK, "/bin/sh", "-c", "id"],
    ):
        r = kiosk.as_deploy(*argv)
        assert r.returncode == 1 and "password is required" in r.stderr, (argv, r.stderr)


def test_collect_finds_the_samples_wrapper_of_a_provisioned_kiosk():
    provisioned = Host("k", "k", vars={"digitkiosk_cmd": "sudo -n /usr/local/sbin/digitkiosk-model"})
    assert samples_command(provisioned) == ["sudo", "-n", "-u", "kiosk", "/usr/local/sbin/digitkiosk-samples"]
    assert _argv(provisioned, "count", "--json")[-3:] == ["samples", "count", "--json"]
    own = Host("k", "k", vars={"digitkiosk_cmd": "sudo -n /usr/local/sbin/digitkiosk-model",
                          "digitkiosk_samples_cmd": "/opt/dk/bin/digitkiosk"})  # fmt: skip
    assert samples_command(own) == ["/opt/dk/bin/digitkiosk"]
    assert samples_command(Host("k", "k", vars={})) == ["digitkiosk"]
