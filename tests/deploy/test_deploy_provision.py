"""Provisioning files: the install script and kiosk session parse, the unit passes systemd's checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROVISION = Path(__file__).resolve().parents[2] / "deploy" / "provision"
# Installed on the Pi by install.sh, so absent on a build machine: the only complaint allowed.
ON_THE_DEVICE_ONLY = ("/usr/bin/xinit",)


@pytest.mark.parametrize(
    ("shell", "script"),
    [
        ("bash", "install.sh"),
        ("sh", "kiosk-session.sh"),
        ("bash", "digitkiosk-model"),
        ("bash", "digitkiosk-samples"),
        ("bash", "corrections.sh"),
    ],
)
def test_scripts_parse(shell, script):
    path = PROVISION / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    result = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_install_script_refuses_bad_input_without_touching_anything(tmp_path):
    script = PROVISION / "install.sh"
    result = subprocess.run(["bash", str(script), "--bogus"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown option" in result.stderr
    result = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "trust-key" in result.stdout


def test_unit_verifies():
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    unit = PROVISION / "digitkiosk-kiosk.service"
    text = unit.read_text()
    for needed in ("Restart=always", "-nocursor", "-s 0 -dpms", "WantedBy=graphical.target"):
        assert needed in text
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, cwd=PROVISION)
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not any(f"{cmd} is not executable" in line for cmd in ON_THE_DEVICE_ONLY)
    ]
    assert not problems, "\n".join(problems)


def test_session_disables_blanking_and_hides_pointer():
    text = (PROVISION / "kiosk-session.sh").read_text()
    assert "xset s off" in text and "xset -dpms" in text and "unclutter" in text
    assert "exec /usr/local/bin/digitkiosk kiosk" in text
