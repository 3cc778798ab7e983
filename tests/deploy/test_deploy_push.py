"""`digitkiosk-deploy push|status|rollback` against real sshd instances running the real device CLI."""

from __future__ import annotations

import json
import threading
import time

import pytest
from digitkiosk.deploy.cli import main as deploy

pytestmark = pytest.mark.ssh


def run_json(capsys, argv: list[str]) -> tuple[int, dict]:
    code = deploy([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def by_host(report: dict) -> dict[str, dict]:
    return {h["host"]: h for h in report["hosts"]}


def test_push_installs_and_activates_on_every_host(fleet, make_model, capsys):
    card = make_model("2030.1.1")
    code, report = run_json(capsys, ["push", str(card), *fleet.args()])
    assert code == 0, report
    assert report["ok"] and report["version"] == "2030.1.1"
    for dev in fleet.devices:
        assert by_host(report)[dev.name]["status"] == "ok"
        assert by_host(report)[dev.name]["healthy"] is True
        assert dev.active == "2030.1.1"
        status = dev.store().status()
        assert status.healthy and status.selftest["ok"]
        # the kiosk's stable path resolves to the new model, and staging was cleaned up
        assert (dev.store_dir / "current" / "digitnet.tflite").is_file()
        assert not any(dev.staging.rglob("*.tflite"))

    # the same version again: a no-op on every host
    code, report = run_json(capsys, ["push", str(card), *fleet.args()])
    assert code == 0
    assert {h["status"] for h in report["hosts"]} == {"unchanged"}


def test_upgrade_then_fleet_rollback_restores_previous(fleet, make_model, capsys):
    v1, v2 = make_model("2030.1.1"), make_model("2030.2.1")
    assert run_json(capsys, ["push", str(v1), *fleet.args()])[0] == 0
    code, report = run_json(capsys, ["push", str(v2), *fleet.args()])
    assert code == 0
    assert all(h["active"] == "2030.2.1" and h["previous"] == "2030.1.1" for h in report["hosts"])

    code, report = run_json(capsys, ["rollback", *fleet.args()])
    assert code == 0, report
    assert all(d.active == "2030.1.1" for d in fleet.devices)
    assert all(h["active"] == "2030.1.1" and h["status"] == "ok" for h in report["hosts"])

    code, report = run_json(capsys, ["status", *fleet.args()])
    assert code == 0
    assert {h["active"] for h in report["hosts"]} == {"2030.1.1"}


def test_downgrade_refused_unless_allowed(fleet, make_model, capsys):
    new, old = make_model("2030.2.1"), make_model("2030.1.1")
    assert run_json(capsys, ["push", str(new), *fleet.args()])[0] == 0
    code, report = run_json(capsys, ["push", str(old), *fleet.args("--group", "kiosk-01")])
    assert code == 1
    assert "downgrade" in report["hosts"][0]["message"]
    assert fleet.device("kiosk-01").active == "2030.2.1"
    code, _ = run_json(capsys, ["push", str(old), "--allow-downgrade", *fleet.args("--group", "kiosk-01")])
    assert code == 0 and fleet.device("kiosk-01").active == "2030.1.1"


def test_one_host_down_others_succeed_and_it_is_reported(fleet_of, sshd_pool, make_model, capsys):
    fleet = fleet_of([sshd_pool[0], None, sshd_pool[1]])
    card = make_model("2030.1.1")
    code = deploy(["push", str(card), *fleet.args()])
    captured = capsys.readouterr()
    assert code == 1
    assert "kiosk-02: failed" in captured.err  # progress line
    table = captured.out
    assert "2/3 hosts ok, 1 failed" in table
    row = next(line for line in table.splitlines() if line.startswith("kiosk-02"))
    assert "failed" in row and "cannot connect" in row
    assert fleet.device("kiosk-01").active == "2030.1.1"
    assert fleet.device("kiosk-03").active == "2030.1.1"


def test_tampered_card_refused_on_device_previous_stays(fleet, make_model, capsys):
    v1 = make_model("2030.1.1")
    assert run_json(capsys, ["push", str(v1), *fleet.args()])[0] == 0
    v2 = make_model("2030.2.1")
    # Change the card after signing (raise the reject threshold): the .tflite still matches it,
    # so only the signature can catch it — and it must, on the device.
    card = json.loads(v2.read_text())
    card["reject_threshold"] = 0.0
    v2.write_text(json.dumps(card))
    code, report = run_json(capsys, ["push", str(v2), *fleet.args()])
    assert code == 1
    for dev in fleet.devices:
        host = by_host(report)[dev.name]
        assert host["status"] == "failed" and "bad signature" in host["message"]
        assert host["active"] == "2030.1.1"
        assert dev.active == "2030.1.1"
        assert "bad signature" in dev.store().status(check=False).last_error_message
        assert "2030.2.1" not in dev.store().versions()


def test_unknown_signing_key_refused_on_device(fleet, make_model, other_signing_key, capsys):
    v1 = make_model("2030.1.1")
    assert run_json(capsys, ["push", str(v1), *fleet.args()])[0] == 0
    rogue = make_model("2030.9.9", key=other_signing_key)
    code, report = run_json(capsys, ["push", str(rogue), *fleet.args()])
    assert code == 1
    assert all("unknown key" in h["message"] for h in report["hosts"])
    assert all(d.active == "2030.1.1" for d in fleet.devices)


def test_unsigned_model_is_not_pushed(fleet, make_model, capsys):
    card = make_model("2030.1.1", key=None)
    assert deploy(["push", str(card), *fleet.args()]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("digitkiosk-deploy: error:") and "not signed" in err and "\n" not in err
    # forced through: the kiosks (not in development mode) refuse it themselves
    code, report = run_json(capsys, ["push", str(card), "--allow-unsigned", *fleet.args()])
    assert code == 1
    assert all("not signed" in h["message"] for h in report["hosts"])
    assert all(d.active is None for d in fleet.devices)


def test_canary_failure_halts_rollout(fleet, make_model, capsys):
    # the canary does not trust our key (its trust directory is emptied): its install fails
    canary = fleet.devices[0]
    for key in canary.trust_dir.iterdir():
        key.unlink()
    card = make_model("2030.1.1")
    code, report = run_json(capsys, ["push", str(card), "--canary", "1", *fleet.args()])
    assert code == 1
    assert report["hosts"][0]["host"] == canary.name and report["hosts"][0]["status"] == "failed"
    for dev in fleet.devices[1:]:
        assert by_host(report)[dev.name]["status"] == "skipped"
        assert dev.active is None and not dev.store_dir.exists() and not dev.staging.exists()


def test_canary_success_continues(fleet, make_model, capsys):
    card = make_model("2030.1.1")
    code, report = run_json(capsys, ["push", str(card), "--canary", "2", "--parallel", "2", *fleet.args()])
    assert code == 0
    assert [h["status"] for h in report["hosts"]] == ["ok"] * len(fleet.devices)
    assert all(d.active == "2030.1.1" for d in fleet.devices)


def test_dry_run_changes_nothing(fleet, make_model, capsys):
    card = make_model("2030.1.1")
    code, report = run_json(capsys, ["push", str(card), "--dry-run", *fleet.args()])
    assert code == 0
    assert all(h["status"] == "dry-run" and "would install 2030.1.1" in h["message"] for h in report["hosts"])
    assert all(d.active is None and not d.staging.exists() for d in fleet.devices)


def test_unknown_host_key_refused_then_accepted_on_request(fleet, make_model, capsys):
    card = make_model("2030.1.1")
    fleet.known_hosts.write_text("")  # nobody known
    code, report = run_json(capsys, ["push", str(card), *fleet.args("--group", "kiosk-01")])
    assert code == 1
    assert "host key not trusted" in report["hosts"][0]["message"]
    assert fleet.device("kiosk-01").active is None

    code, report = run_json(
        capsys, ["push", str(card), "--accept-new-host-keys", *fleet.args("--group", "kiosk-01")]
    )
    assert code == 0
    assert fleet.device("kiosk-01").active == "2030.1.1"
    assert fleet.device("kiosk-01").server.host_key_line.split()[2] in fleet.known_hosts.read_text()


def test_changed_host_key_refused_even_when_accepting_new(fleet, make_model, capsys):
    card = make_model("2030.1.1")
    first, second = fleet.devices[0].server, fleet.devices[1].server
    # known_hosts claims kiosk-01's port has kiosk-02's key: the key kiosk-01 shows "changed"
    forged = second.host_key_line.replace(f"]:{second.port} ", f"]:{first.port} ")
    assert forged != second.host_key_line
    fleet.known_hosts.write_text(forged)
    code, report = run_json(
        capsys, ["push", str(card), "--accept-new-host-keys", *fleet.args("--group", "kiosk-01")]
    )
    assert code == 1
    assert "host key not trusted" in report["hosts"][0]["message"]
    assert fleet.device("kiosk-01").active is None
    assert fleet.known_hosts.read_text() == forged  # nothing recorded


def test_connection_cut_mid_transfer_keeps_previous_model_and_retry_completes(
    fleet_of, own_sshd, make_model, capsys
):
    fleet = fleet_of([own_sshd])
    device = fleet.devices[0]
    v1, v2 = make_model("2030.1.1"), make_model("2030.2.1")
    assert deploy(["push", str(v1), *fleet.args(), "--json"]) == 0
    capsys.readouterr()

    # A slow link (16 KB/s: the 80 KB model takes ~5 s); pull the plug once the upload is under way.
    outcome: dict = {}
    pusher = threading.Thread(
        target=lambda: outcome.setdefault(
            "code", deploy(["push", str(v2), "--limit-rate", "16", *fleet.args(), "--json"])
        )
    )
    pusher.start()
    deadline = time.monotonic() + 20
    while not any(device.staging.rglob("*.part")):
        assert time.monotonic() < deadline, "upload never started"
        time.sleep(0.05)
    time.sleep(0.5)
    own_sshd.kill()
    pusher.join(30)
    assert not pusher.is_alive()
    report = json.loads(capsys.readouterr().out)
    assert outcome["code"] == 1
    assert report["hosts"][0]["status"] == "failed"
    assert device.active == "2030.1.1"  # still the previous model, complete and healthy
    assert device.store().status().healthy
    assert "2030.2.1" not in device.store().versions()
    partial = list(device.staging.rglob("*.part"))
    assert partial and partial[0].stat().st_size < 81024  # it really was cut mid-file

    own_sshd.start()  # the link comes back; same host key, same port
    code, report = run_json(capsys, ["push", str(v2), *fleet.args()])
    assert code == 0, report
    assert device.active == "2030.2.1" and device.store().previous_version == "2030.1.1"


def test_status_reports_each_host(fleet, make_model, capsys):
    card = make_model("2030.1.1")
    run_json(capsys, ["push", str(card), *fleet.args("--group", "kiosk-01")])
    code = deploy(["status", *fleet.args()])
    out = capsys.readouterr().out
    assert code == 1  # the other kiosks have no model yet
    assert "kiosk-01  ok" in out and "2030.1.1" in out
    assert "no model installed" in out


def test_bad_inventory_is_one_line(tmp_path, make_model, capsys):
    card = make_model("2030.1.1")
    inv = tmp_path / "inv.yml"
    inv.write_text("all: [unclosed\n")
    assert deploy(["push", str(card), "--inventory", str(inv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digitkiosk-deploy: error: inventory") and err.count("\n") == 1
    assert deploy(["push", str(card), "--inventory", str(tmp_path / "missing.yml")]) == 2
    assert "inventory not found" in capsys.readouterr().err
    assert deploy(["push", str(card), "--to", "bad host!"]) == 2
    assert "not a host name" in capsys.readouterr().err
