"""Signing on the workstation (`digitkiosk-deploy keygen|sign`) and verifying on the device."""

from __future__ import annotations

import json
import shutil
import stat

import pytest
from digitkiosk.deploy.cli import main as deploy
from digitkiosk.device.errors import ChecksumMismatchError, SignatureError
from digitkiosk.device.loader import load_model
from digitkiosk.device.package import ModelPackage, TrustPolicy
from digitkiosk.device.signing import signature_path_for


@pytest.fixture()
def trust_dir(tmp_path, signing_key):
    d = tmp_path / "trusted_keys"
    d.mkdir()
    shutil.copy2(signing_key.with_name("signing_key.pub"), d / "deploy.pub")
    return d


def test_keygen_writes_private_key_0600_and_never_prints_it(tmp_path, capsys, caplog):
    key = tmp_path / "keys" / "k.pem"
    assert deploy(["keygen", "--key", str(key)]) == 0
    out = capsys.readouterr()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.with_name("k.pub").is_file()
    secret_body = "".join(key.read_text().splitlines()[1:-1])
    for text in (out.out, out.err, caplog.text):
        assert "PRIVATE KEY" not in text and secret_body not in text
    # never overwritten by accident
    assert deploy(["keygen", "--key", str(key)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_signed_model_loads_through_the_verifier(make_model, trust_dir):
    card = make_model("2030.1.1")
    sig = json.loads(signature_path_for(card).read_text())
    assert sig["algorithm"] == "ed25519" and len(sig["key_id"]) == 16
    loaded = load_model(card, policy=TrustPolicy(trust_dir))
    assert loaded.card.version == "2030.1.1"


def test_sign_cli(make_model, signing_key, capsys):
    card = make_model("2030.1.1", key=None)
    assert deploy(["sign", str(card.with_suffix(".tflite")), "--key", str(signing_key)]) == 0
    assert signature_path_for(card).is_file()
    assert "signed" in capsys.readouterr().out


def test_sign_refuses_card_that_does_not_match_model(make_model, signing_key, capsys):
    card = make_model("2030.1.1", key=None)
    data = json.loads(card.read_text())
    data["sha256"] = "0" * 64
    card.write_text(json.dumps(data))
    assert deploy(["sign", str(card), "--key", str(signing_key)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digitkiosk-deploy: error:") and "does not match its card" in err
    assert not signature_path_for(card).exists()


def test_sign_without_key_is_one_line(make_model, tmp_path, capsys):
    card = make_model("2030.1.1", key=None)
    assert deploy(["sign", str(card), "--key", str(tmp_path / "nope.pem")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "signing key not found" in err


def test_card_changed_after_signing_is_refused(make_model, trust_dir):
    card = make_model("2030.1.2")
    data = json.loads(card.read_text())
    data["version"] = "2030.9.9"
    card.write_text(json.dumps(data))
    with pytest.raises(SignatureError, match="bad signature"):
        load_model(card, policy=TrustPolicy(trust_dir))


def test_unsigned_and_unknown_key_refused_unless_development_mode(make_model, trust_dir, other_signing_key):
    unsigned = make_model("2030.1.3", key=None)
    rogue = make_model("2030.1.4", key=other_signing_key)
    strict = TrustPolicy(trust_dir)
    with pytest.raises(SignatureError, match="not signed"):
        load_model(unsigned, policy=strict)
    with pytest.raises(SignatureError, match="unknown key"):
        load_model(rogue, policy=strict)
    dev = TrustPolicy(trust_dir, allow_unsigned=True)
    assert load_model(make_model("2030.1.5", key=None), policy=dev).card.version == "2030.1.5"
    # trust refusals are not remembered: the unsigned model loads in development mode too
    assert load_model(unsigned, policy=dev).trust == "unsigned (development mode)"


def test_bad_signature_refused_even_in_development_mode(make_model, trust_dir):
    card = make_model("2030.1.6")
    data = json.loads(card.read_text())
    data["reject_threshold"] = 0.0
    card.write_text(json.dumps(data))
    with pytest.raises(SignatureError, match="bad signature"):
        ModelPackage.read(card).verify(TrustPolicy(trust_dir, allow_unsigned=True))


def test_malformed_signature_file_and_empty_trust_dir(make_model, trust_dir, tmp_path):
    card = make_model("2030.1.7")
    signature_path_for(card).write_text("{not json")
    with pytest.raises(SignatureError, match="unreadable signature"):
        ModelPackage.read(card).verify(TrustPolicy(trust_dir))
    card2 = make_model("2030.1.8")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SignatureError, match="no trusted keys"):
        ModelPackage.read(card2).verify(TrustPolicy(empty))


def test_tampered_tflite_is_refused_before_signature_matters(make_model, trust_dir):
    card = make_model("2030.1.9")
    model = card.with_suffix(".tflite")
    data = bytearray(model.read_bytes())
    data[-100] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError):
        load_model(card, policy=TrustPolicy(trust_dir))
