"""The device's model store through the real `digitkiosk model ...` command (in-process)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from digitkiosk.device.cli import main as digitkiosk
from digitkiosk.device.store import ModelStore, version_key


@pytest.fixture()
def device(tmp_path, signing_key):
    trust = tmp_path / "trust"
    trust.mkdir()
    shutil.copy2(signing_key.with_name("signing_key.pub"), trust / "deploy.pub")
    store = tmp_path / "store"

    def model(*args: str) -> int:
        return digitkiosk(["model", *args, "--store", str(store), "--trust-dir", str(trust)])

    model.store = ModelStore(store, trust_dir=trust, allow_unsigned=False)  # type: ignore[attr-defined]
    return model


def status(device, capsys) -> dict:
    capsys.readouterr()
    device("status", "--json")
    return json.loads(capsys.readouterr().out)


def test_install_switches_current_atomically_and_keeps_previous(device, make_model, capsys):
    store = device.store
    assert device("install", str(make_model("2030.1.1"))) == 0
    assert os.readlink(store.current_link) == "versions/2030.1.1"
    stable = store.root / "current" / "digitnet.tflite"
    first_inode = stable.stat().st_ino
    assert device("install", str(make_model("2030.2.1").with_suffix(".tflite"))) == 0
    assert os.readlink(store.current_link) == "versions/2030.2.1"
    assert os.readlink(store.previous_link) == "versions/2030.1.1"
    assert stable.stat().st_ino != first_inode  # what a kiosk watching the stable path notices
    assert not [p for p in store.root.iterdir() if p.name.endswith(".tmp")]
    s = status(device, capsys)
    assert s["active"] == "2030.2.1" and s["previous"] == "2030.1.1"
    assert s["healthy"] and s["selftest"]["ok"] and s["selftest"]["accuracy"] >= 0.9
    assert s["last_error"] is None


def test_same_version_is_a_noop(device, make_model, capsys):
    card = make_model("2030.1.1")
    assert device("install", str(card)) == 0
    before = device.store.state_path.read_text()
    capsys.readouterr()
    assert device("install", str(card), "--json") == 0
    assert json.loads(capsys.readouterr().out)["action"] == "unchanged"
    assert device.store.state_path.read_text() == before


def test_rollback_and_activate(device, make_model, capsys):
    device("install", str(make_model("2030.1.1")))
    device("install", str(make_model("2030.2.1")))
    assert device("rollback") == 0
    assert device.store.active_version == "2030.1.1" and device.store.previous_version == "2030.2.1"
    assert device("activate", "2030.2.1") == 0
    assert device.store.active_version == "2030.2.1"
    capsys.readouterr()
    assert device("activate", "../../etc") == 2
    assert "not in the store" in capsys.readouterr().err


def test_rollback_with_nothing_to_roll_back_to(device, make_model, capsys):
    device("install", str(make_model("2030.1.1")))
    capsys.readouterr()
    assert device("rollback") == 2
    assert "nothing to roll back to" in capsys.readouterr().err
    assert device.store.active_version == "2030.1.1"


def test_downgrade_refused_unless_asked(device, make_model, capsys):
    device("install", str(make_model("2030.2.1")))
    old = make_model("2030.1.1")
    capsys.readouterr()
    assert device("install", str(old)) == 2
    assert "refusing to downgrade" in capsys.readouterr().err
    assert device.store.active_version == "2030.2.1"
    assert device("install", str(old), "--allow-downgrade") == 0
    assert device.store.active_version == "2030.1.1"


def test_tampered_model_refused_previous_stays_and_error_persisted(device, make_model, capsys):
    device("install", str(make_model("2030.1.1")))
    bad = make_model("2030.2.1")
    model = bad.with_suffix(".tflite")
    data = bytearray(model.read_bytes())
    data[5000] ^= 0x01
    model.write_bytes(bytes(data))
    capsys.readouterr()
    assert device("install", str(bad)) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    s = status(device, capsys)
    assert s["active"] == "2030.1.1" and s["healthy"]
    assert "checksum mismatch" in s["last_error"]["message"] and s["last_error"]["action"] == "install"
    assert s["versions"] == ["2030.1.1"]
    assert not list((device.store.versions_dir).glob(".incoming-*"))


def test_truncated_transfer_refused(device, make_model, capsys):
    card = make_model("2030.1.1")
    model = card.with_suffix(".tflite")
    model.write_bytes(model.read_bytes()[:40000])
    assert device("install", str(card)) == 2
    assert "size mismatch" in capsys.readouterr().err
    assert device.store.active_version is None


def test_same_version_different_content_refused(device, make_model, other_signing_key, capsys, signing_key):
    device("install", str(make_model("2030.1.1")))
    twin = make_model("2030.1.1", folder="twin", key=None)
    data = json.loads(twin.read_text())
    data["reject_threshold"] = 0.5
    twin.write_text(json.dumps(data))
    from digitkiosk.deploy.keys import sign_model

    sign_model(twin, signing_key)
    capsys.readouterr()
    assert device("install", str(twin)) == 2
    assert "different content" in capsys.readouterr().err


def test_status_of_empty_store_and_list(device, make_model, capsys):
    s = status(device, capsys)
    assert s["active"] is None and s["healthy"] is False
    assert device("status") == 1
    device("install", str(make_model("2030.1.1")))
    device("install", str(make_model("2030.2.1")))
    capsys.readouterr()
    assert device("list") == 0
    out = capsys.readouterr().out
    assert "* 2030.2.1" in out and "< 2030.1.1" in out


def test_old_versions_are_pruned(device, make_model):
    for v in ("2030.1.1", "2030.2.1", "2030.3.1", "2030.4.1", "2030.10.1"):
        assert device("install", str(make_model(v))) == 0
    assert device.store.versions() == ["2030.3.1", "2030.4.1", "2030.10.1"]
    assert device.store.previous_version == "2030.4.1"


def test_version_ordering():
    assert version_key("2026.11.21.1258") < version_key("2026.11.21.1300")
    assert version_key("1.9") < version_key("1.10")
    assert version_key("2030.1.1") < version_key("2030.1.1.1")


def test_device_side_imports_neither_deploy_nor_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, digitkiosk.device.store, digitkiosk.device.signing, digitkiosk.device.commands.model\n"
        "bad = [m for m in sys.modules if m.startswith(('digitkiosk.deploy', 'tensorflow', 'asyncssh'))]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_status_is_one_record_on_both_sides(device, make_model, capsys):
    """What `digitkiosk model status --json` prints is what digitkiosk-deploy reads back
    (StoreStatus), field for field; a kiosk a release ahead may add fields, and is still read."""
    from digitkiosk.device.store_state import StoreStatus

    empty = status(device, capsys)
    assert StoreStatus.from_json(empty).to_json() == empty
    assert empty["active"] is None and empty["healthy"] is False and "damaged" not in empty
    assert device("install", str(make_model("2030.1.1"))) == 0
    printed = status(device, capsys)
    read = StoreStatus.from_json({**printed, "added_in_a_later_release": 1})
    assert read.active == "2030.1.1" and read.healthy is True and read.selftest["ok"] is True
    assert read.to_json() == printed
    unchecked = device.store.status(check=False).to_json()
    assert "healthy" not in unchecked and "check_error" not in unchecked
