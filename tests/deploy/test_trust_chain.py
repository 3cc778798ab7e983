"""Issue 19, the trust chain: each bypass found in review, tried again against real files, a real
store and the real `digitkiosk` command. (The sudo rule: test_trust_sudo.py; SSH host keys:
test_trust_ssh.py.)"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from digitkiosk.deploy.cli import main as deploy
from digitkiosk.device.cli import main as digitkiosk
from digitkiosk.device.errors import ModelError, SignatureError
from digitkiosk.device.fileutil import sha256_bytes
from digitkiosk.device.loader import load_model
from digitkiosk.device.model_watch import ModelWatcher
from digitkiosk.device.package import BUNDLED, ModelPackage, TrustPolicy, bundled_pins
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.device.signing import load_trusted_keys, signature_path_for
from digitkiosk.device.store import ModelStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def trust(tmp_path, signing_key) -> Path:
    d = tmp_path / "trust"
    d.mkdir()
    shutil.copy2(signing_key.with_name("signing_key.pub"), d / "deploy.pub")
    return d


@pytest.fixture()
def store(tmp_path, trust) -> ModelStore:
    return ModelStore(tmp_path / "store", trust_dir=trust, allow_unsigned=False)


def model_cmd(store: ModelStore, *args: str) -> int:
    return digitkiosk(
        ["model", *args, "--store", str(store.root), "--trust-dir", str(store.policy.trust_dir)]
    )


def edit_card(card: Path, **changes) -> None:
    data = json.loads(card.read_text())
    data.update(changes)
    card.write_text(json.dumps(data, indent=1))


def digit_image(tmp_path: Path) -> Path:
    from digitkiosk.device.loader import selftest_digits
    from PIL import Image

    images, labels = selftest_digits()
    path = tmp_path / f"digit-{labels[0]}.png"
    Image.fromarray(255 - images[0]).resize((200, 200)).save(path)
    return path


# -- row 2: every command verifies what it runs -----------------------------------------------


def test_predict_refuses_an_edited_unsigned_card(make_model, trust, tmp_path, capsys, monkeypatch):
    image = digit_image(tmp_path)
    signed = make_model("2030.1.1")
    assert (
        digitkiosk(["predict", "--single", str(image), "--model", str(signed), "--trust-dir", str(trust)])
        == 0
    )
    capsys.readouterr()
    edited = make_model("2030.1.2", key=None)
    edit_card(edited, reject_threshold=0.0)
    assert (
        digitkiosk(["predict", "--single", str(image), "--model", str(edited), "--trust-dir", str(trust)])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model is not signed" in err
    # the kiosk's environment (kiosk.env: DIGITKIOSK_TRUST_DIR) applies to every command
    monkeypatch.setenv("DIGITKIOSK_TRUST_DIR", str(trust))
    monkeypatch.setenv("DIGITKIOSK_MODEL", str(edited))
    assert digitkiosk(["strokes", str(tmp_path / "none.jsonl")]) == 2
    assert "model is not signed" in capsys.readouterr().err
    # ...and development mode is explicit
    assert digitkiosk(["predict", "--single", str(image), "--allow-unsigned"]) == 0


def test_signature_by_a_key_that_is_not_trusted_is_refused_by_predict(
    make_model, other_signing_key, trust, tmp_path, capsys
):
    rogue = make_model("2030.1.3", key=other_signing_key)
    code = digitkiosk(
        ["predict", str(digit_image(tmp_path)), "--model", str(rogue), "--trust-dir", str(trust)]
    )
    assert code == 2 and "unknown key" in capsys.readouterr().err


def test_bundled_model_is_trusted_by_its_pinned_sha256_and_only_it(default_model_path, model_copy, tmp_path):
    card = default_model_path.with_suffix(".json")
    assert sha256_bytes(card.read_bytes()) in bundled_pins(), (
        "models/TRUSTED does not pin the bundled card: after replacing the bundled model run "
        "`cd models && sha256sum digitnet.json linenet.json strokenet.json > TRUSTED`"
    )
    nowhere = TrustPolicy(tmp_path / "no-trust-dir")
    assert load_model(default_model_path, policy=nowhere).trust == BUNDLED
    assert load_model(model_copy, policy=nowhere).trust == BUNDLED  # same bytes elsewhere: same model
    edit_card(model_copy.with_suffix(".json"), reject_threshold=0.0)
    with pytest.raises(SignatureError, match="no trusted keys"):
        load_model(model_copy, policy=nowhere)


def test_pin_file_agrees_with_the_bundled_model():
    """One place to update when the bundled model is replaced: models/TRUSTED (sha256sum format)."""
    result = subprocess.run(
        ["sha256sum", "-c", "TRUSTED"], cwd=REPO / "models", capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def settle(watcher: ModelWatcher):
    first = watcher.poll()
    return first if first is not None else watcher.poll()


def test_hot_reload_of_unsigned_or_wrongly_signed_model_keeps_the_old_one(
    make_model, trust, signing_key, other_signing_key
):
    from digitkiosk.deploy.keys import sign_model

    card = make_model("2030.1.1")
    policy = TrustPolicy(trust)
    rec = Recognizer(load_model(card, policy=policy))
    watcher = ModelWatcher(rec, card, policy=policy)
    signature_path_for(card).unlink()
    edit_card(card, version="2030.1.2", reject_threshold=0.0)
    change = settle(watcher)
    assert change.kind == "refused" and "not signed" in change.message and "still using" in change.message
    assert rec.model.card.version == "2030.1.1"
    sign_model(card, other_signing_key)
    change = settle(watcher)
    assert change.kind == "refused" and "unknown key" in change.message
    assert rec.model.card.version == "2030.1.1"
    # signed properly now: the same card and model bytes get a fresh hearing (the refusal was
    # not remembered on card + model alone)
    sign_model(card, signing_key)
    change = settle(watcher)
    assert change.kind == "reloaded" and rec.model.card.version == "2030.1.2"
    assert rec.model.trust.startswith("key ")


def test_refusal_cache_keys_on_the_signature_too(make_model, trust, other_signing_key, monkeypatch):
    """A package the interpreter refused stays refused; the same card and model with another
    (trusted) signature is a different package and gets a fresh hearing."""
    from digitkiosk.deploy.keys import sign_model
    from digitkiosk.device import loader

    card = make_model("2030.1.4")
    calls = []

    def refuse(*a, **k):
        calls.append(1)
        raise loader.SelfTestFailedError("self-test failed: refused for the test")

    monkeypatch.setattr(loader, "_build", refuse)
    policy = TrustPolicy(trust)
    for _ in range(2):
        with pytest.raises(ModelError, match=r"refused for the test|refused earlier"):
            load_model(card, policy=policy)
    assert len(calls) == 1
    shutil.copy2(other_signing_key.with_name("rogue_key.pub"), trust / "second.pub")
    before = card.read_bytes()
    sign_model(card, other_signing_key)
    assert card.read_bytes() == before
    with pytest.raises(ModelError, match="refused for the test"):
        load_model(card, policy=policy)
    assert len(calls) == 2


# -- row 3: keys ----------------------------------------------------------------------------


def test_only_pub_files_are_keys_and_renaming_revokes(make_model, trust, capsys, store):
    (trust / "deploy.pub").rename(trust / "deploy.pub.revoked")
    assert load_trusted_keys(trust) == {}
    assert model_cmd(store, "install", str(make_model("2030.1.1"))) == 2
    assert "no trusted keys" in capsys.readouterr().err
    (trust / "deploy.pub.revoked").rename(trust / "deploy.pub")
    assert model_cmd(store, "install", str(make_model("2030.1.2"))) == 0


@pytest.mark.parametrize(
    "how", ["dir-world-writable", "key-group-writable", "key-owned-by-user", "key-symlink"]
)
def test_trust_dir_or_key_others_can_change_is_refused(how, make_model, trust, tmp_path, capsys, store):
    key = trust / "deploy.pub"
    if how == "dir-world-writable":
        trust.chmod(0o777)
    elif how == "key-group-writable":
        key.chmod(0o664)
    elif how == "key-owned-by-user":
        os.chown(key, 4242, 4242)
    else:
        real = tmp_path / "elsewhere.pub"
        key.rename(real)
        key.symlink_to(real)
    card = make_model("2030.1.1")
    assert model_cmd(store, "install", str(card)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unsafe trust directory" in err and "Traceback" not in err
    assert (
        digitkiosk(["predict", str(digit_image(tmp_path)), "--model", str(card), "--trust-dir", str(trust)])
        == 2
    )
    assert "unsafe trust directory" in capsys.readouterr().err
    # development mode relaxes it, explicitly, with a warning
    assert load_model(card, policy=TrustPolicy(trust, allow_unsigned=True)).trust.startswith("key ")


# -- row 1 (the store's part): symlinks it did not make ---------------------------------------


def test_store_refuses_symlinked_versions_and_lock_and_deletes_nothing_outside(
    make_model, tmp_path, trust, capsys
):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    root = tmp_path / "evil-store"
    root.mkdir()
    (root / "versions").symlink_to(victim)
    store = ModelStore(root, trust_dir=trust, allow_unsigned=False)
    for v in ("2030.1.1", "2030.2.1", "2030.3.1", "2030.4.1"):
        assert model_cmd(store, "install", str(make_model(v))) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert (victim / "precious.txt").read_text() == "keep me" and len(list(victim.iterdir())) == 1

    (root / "versions").unlink()
    target = tmp_path / "created-by-lock"
    (root / ".lock").symlink_to(target)
    assert model_cmd(store, "install", str(make_model("2030.5.1"))) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert not target.exists()


def test_store_never_prunes_or_activates_a_symlinked_version_folder(make_model, tmp_path, store, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    assert model_cmd(store, "install", str(make_model("2030.1.1"))) == 0
    (store.versions_dir / "2000.1.1").symlink_to(victim)
    assert model_cmd(store, "activate", "2000.1.1") == 2
    assert "symbolic link" in capsys.readouterr().err
    for v in ("2030.2.1", "2030.3.1", "2030.4.1", "2030.5.1"):
        assert model_cmd(store, "install", str(make_model(v))) == 0
    assert (victim / "precious.txt").read_text() == "keep me"
    assert store.versions() == ["2030.3.1", "2030.4.1", "2030.5.1"]


# -- row 5: PEP 440 versions -----------------------------------------------------------------


def test_pre_release_does_not_install_over_its_release(make_model, store, capsys):
    assert model_cmd(store, "install", str(make_model("1.5.0"))) == 0
    assert model_cmd(store, "install", str(make_model("1.5.0-rc1"))) == 2
    assert "refusing to downgrade from 1.5.0 to 1.5.0-rc1" in capsys.readouterr().err
    assert model_cmd(store, "install", str(make_model("1.10.0"))) == 0
    assert store.versions() == ["1.5.0", "1.10.0"]
    assert model_cmd(store, "install", str(make_model("1.5.0.0", folder="same"))) == 2  # == 1.5.0
    assert "already installed as 1.5.0" in capsys.readouterr().err


def test_versions_that_are_not_pep440_are_refused_at_signing_and_on_the_device(
    make_model, store, signing_key, capsys
):
    from digitkiosk.deploy.keys import load_private_key

    unsigned = make_model("zeta", key=None)
    assert deploy(["sign", str(unsigned), "--key", str(signing_key)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a PEP 440 version" in err
    # signed anyway, by hand: the device refuses it too
    key = load_private_key(signing_key)
    sign_raw(unsigned, key)
    assert model_cmd(store, "install", str(unsigned)) == 2
    assert "not a PEP 440 version" in capsys.readouterr().err
    assert store.active_version is None


def sign_raw(card: Path, key) -> None:
    """A valid signature over whatever the card says, without the signing tool's checks."""
    from digitkiosk.deploy.keys import key_id_of

    doc = {
        "format": 1,
        "algorithm": "ed25519",
        "key_id": key_id_of(key),
        "signature": base64.b64encode(key.sign(card.read_bytes())).decode(),
    }
    signature_path_for(card).write_text(json.dumps(doc))


# -- row 6: the card's own name is fixed -----------------------------------------------------


def test_card_naming_another_file_is_refused(make_model, store, signing_key, capsys):
    from digitkiosk.deploy.keys import load_private_key

    card = make_model("2030.1.1", key=None)
    shutil.copy(card.with_suffix(".tflite"), card.with_name("a.json"))
    edit_card(card, file="a.json")
    assert deploy(["sign", str(card), "--key", str(signing_key)]) == 2
    assert "named after its model" in capsys.readouterr().err
    sign_raw(card, load_private_key(signing_key))
    assert model_cmd(store, "install", str(card)) == 2
    assert "named after its model" in capsys.readouterr().err


def test_store_and_session_script_find_the_card_named_after_the_model(make_model, store, tmp_path):
    assert model_cmd(store, "install", str(make_model("2030.1.1"))) == 0
    folder = store.versions_dir / "2030.1.1"
    (folder / "a.json").write_text("{}")  # a stray card sorting first
    assert store.active_model_path() == store.current_link / "digitnet.json"
    assert store.status().healthy
    # the kiosk session (shell) picks the same card
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("xset", "unclutter"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / tool).chmod(0o755)
    script = (REPO / "deploy" / "provision" / "kiosk-session.sh").read_text()
    script = script.replace("exec /usr/local/bin/digitkiosk kiosk", 'echo "MODEL=$DIGITKIOSK_MODEL"')
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "DIGITKIOSK_STORE": str(store.root)}
    out = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == f"MODEL={store.current_link}/digitnet.json"


# -- row 7: a damaged version is repaired by installing it again ------------------------------


@pytest.mark.parametrize("active", [True, False])
def test_installing_a_damaged_version_again_repairs_it(make_model, store, capsys, active):
    card = make_model("2030.1.1")
    assert model_cmd(store, "install", str(card)) == 0
    if not active:
        assert model_cmd(store, "install", str(make_model("2030.2.1"))) == 0
    (store.versions_dir / "2030.1.1" / "digitnet.tflite").unlink()  # an interrupted prune
    if active:
        capsys.readouterr()
        model_cmd(store, "status", "--json")
        status = json.loads(capsys.readouterr().out)
        assert not status["healthy"] and "damaged" in status["damaged"]
    assert model_cmd(store, "install", str(card), "--allow-downgrade") == 0
    assert store.active_version == "2030.1.1"
    assert ModelPackage.read(store.versions_dir / "2030.1.1" / "digitnet.json").sha256
    assert store.status().healthy
    assert not [p for p in store.versions_dir.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "command", [["kiosk", "--windowed"], ["camera", "--headless", "--source", "none.mp4"]]
)
def test_kiosk_and_camera_refuse_an_unsigned_model_before_anything_opens(
    command, make_model, trust, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("DISPLAY", ":31999")  # never reached: the model is refused first
    monkeypatch.chdir(tmp_path)
    unsigned = make_model("2030.1.1", key=None)
    assert digitkiosk([*command, "--model", str(unsigned), "--trust-dir", str(trust)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model is not signed" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="the store checks ownership when it runs as root")
def test_store_others_can_write_is_refused_as_root(make_model, store, capsys):
    assert model_cmd(store, "install", str(make_model("2030.1.1"))) == 0
    store.root.chmod(0o777)
    assert model_cmd(store, "install", str(make_model("2030.2.1"))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "can be changed by users other than root" in err
    assert store.active_version == "2030.1.1"


def test_model_file_swapped_for_a_fifo_is_refused_without_hanging(make_model, store, capsys):
    card = make_model("2030.1.1")
    model = card.with_suffix(".tflite")
    model.unlink()
    os.mkfifo(model)
    assert model_cmd(store, "install", str(card)) == 2
    assert "not a regular file" in capsys.readouterr().err
