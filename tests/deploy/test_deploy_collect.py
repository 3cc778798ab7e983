"""`digitkiosk-deploy collect` against real sshd servers on 127.0.0.1 running the real
`digitkiosk samples`, over real sample stores (in device roots whose paths hold spaces, quotes
and `$`)."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from digitkiosk.deploy.cli import main as deploy
from digitkiosk.device.samples import Sample, SampleStore, store_path
from digitkiosk.device.samples.records import round_strokes

pytestmark = pytest.mark.ssh


def with_samples(fleet, extra: dict[str, dict] | None = None):
    """Give every host of the fleet's inventory its store folder (digitkiosk_samples)."""
    inv = yaml.safe_load(fleet.inventory.read_text())
    hosts = inv["all"]["children"]["kiosks"]["hosts"]
    for dev in fleet.devices:
        hosts[dev.name]["digitkiosk_samples"] = str(dev.root / "samples")
        hosts[dev.name].update((extra or {}).get(dev.name, {}))
    fleet.inventory.write_text(yaml.safe_dump(inv, sort_keys=False))
    return fleet


def fill(dev, rows: list[dict], start: int, n: int) -> list[str]:
    """n real pen digits into the device's store; → their uids."""
    uids = []
    with SampleStore(dev.root / "samples", kiosk=dev.name) as store:
        for r in rows[start : start + n]:
            s = Sample(round_strokes(r["strokes"]), str(r["label"]), "?", "1.4.0", time.time())
            store.add(s)
            uids.append(s.uid)
    return uids


def collect(capsys, fleet, out, *extra: str) -> tuple[int, dict]:
    code = deploy(["collect", *fleet.args(), "--out", str(out), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def hosts(report: dict) -> dict[str, dict]:
    return {h["host"]: h for h in report["hosts"]}


def collected(out) -> list[dict]:
    return [json.loads(x) for f in sorted(out.glob("*/*.jsonl")) for x in f.read_text().splitlines()]


def test_collect_fetches_each_sample_once_then_only_new_ones(fleet, tmp_path, capsys, pendigits_train):
    with_samples(fleet)
    uids = {d.name: fill(d, pendigits_train, 10 * i, 3 + i) for i, d in enumerate(fleet.devices)}
    out = tmp_path / "collected"
    code, report = collect(capsys, fleet, out)
    assert code == 0, report
    assert report["new"] == sum(len(u) for u in uids.values()) == 3 + 4 + 5 + 6
    for dev in fleet.devices:
        h = hosts(report)[dev.name]
        assert h["status"] == "ok" and h["new"] == len(uids[dev.name]) and h["purged"] is None
    rows = collected(out)
    assert sorted(r["uid"] for r in rows) == sorted(u for us in uids.values() for u in us)
    first = fleet.devices[0]
    mine = [r for r in rows if r["host"] == first.name]
    assert [r["label"] for r in mine] == [r["label"] for r in pendigits_train[:3]]
    assert all(r["kiosk"] == first.name and r["writer"].startswith(first.name + "/") for r in mine)
    state = json.loads((out / "state.json").read_text())
    assert state["hosts"][first.name]["last_id"] == 3

    # Nothing new: every host unchanged, no file written.
    files = sorted(out.glob("*/*.jsonl"))
    code, report = collect(capsys, fleet, out)
    assert code == 0 and report["new"] == 0
    assert {h["status"] for h in report["hosts"]} == {"unchanged"}
    assert sorted(out.glob("*/*.jsonl")) == files

    # Two more on one kiosk: only those two come.
    more = fill(first, pendigits_train, 100, 2)
    code, report = collect(capsys, fleet, out)
    assert code == 0 and report["new"] == 2 and hosts(report)[first.name]["new"] == 2
    assert [r["uid"] for r in collected(out) if r["host"] == first.name][-2:] == more


def test_purge_deletes_what_was_fetched(fleet, tmp_path, capsys, pendigits_train):
    with_samples(fleet)
    for i, d in enumerate(fleet.devices):
        fill(d, pendigits_train, 5 * i, 2)
    out = tmp_path / "collected"
    code, report = collect(capsys, fleet, out, "--purge")
    assert code == 0, report
    assert all(h["purged"] == 2 for h in report["hosts"])
    for d in fleet.devices:
        with SampleStore(d.root / "samples") as store:
            assert store.count() == 0 and store.last_id() == 2
    assert len(collected(out)) == 2 * len(fleet.devices)


def test_a_lost_mark_or_a_new_store_does_not_duplicate(fleet, tmp_path, capsys, pendigits_train):
    with_samples(fleet)
    first = fleet.devices[0]
    for d in fleet.devices[1:]:
        fill(d, pendigits_train, 0, 0)  # an empty store: nothing to collect, not a failure
    fill(first, pendigits_train, 0, 4)
    out = tmp_path / "collected"
    assert collect(capsys, fleet, out)[0] == 0
    # The marks are lost (a crash after the samples were written, before the state was): the
    # same samples come again, and are recognised.
    (out / "state.json").unlink()
    code, report = collect(capsys, fleet, out)
    assert code == 0 and report["new"] == 0 and hosts(report)[first.name]["duplicates"] == 4
    # The kiosk's store is made anew (ids restart at 1): its samples are fetched, not skipped.
    for f in store_path(first.root / "samples").parent.glob("samples.sqlite3*"):
        f.unlink()
    fill(first, pendigits_train, 50, 2)
    code, report = collect(capsys, fleet, out)
    assert code == 0 and hosts(report)[first.name]["new"] == 2
    assert "store was reset" in hosts(report)[first.name]["message"]
    assert len(collected(out)) == 6


def test_a_host_that_is_down_or_returns_garbage_fails_alone(
    fleet_of, sshd_pool, tmp_path, capsys, pendigits_train
):
    liar = tmp_path / "liar.sh"
    liar.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        '  count) echo \'{"last_id": 7, "kiosk": "liar"}\' ;;\n'
        '  export) echo \'{"label": 3, "strokes": [[[0, 0], [1, 1]]], "id": 1, "uid": "a"}\'; '
        "echo 'this is not json' ;;\n"
        "esac\n"
    )
    liar.chmod(0o755)
    fleet = fleet_of([sshd_pool[0], None, sshd_pool[1]])
    with_samples(fleet, {fleet.devices[2].name: {"digitkiosk_samples_cmd": str(liar)}})
    good, down, bad = fleet.devices
    fill(good, pendigits_train, 0, 3)
    out = tmp_path / "collected"
    code = deploy(["collect", *fleet.args(), "--out", str(out)])
    table = capsys.readouterr().out
    assert code == 1
    assert "2/3 hosts ok" not in table and "1/3 hosts ok, 3 new samples, 2 failed" in table
    code, report = collect(capsys, fleet, out)
    h = hosts(report)
    assert code == 1 and h[good.name]["status"] == "unchanged"
    assert h[down.name]["status"] == "failed" and "connect" in h[down.name]["message"]
    assert h[bad.name]["status"] == "failed" and "garbage: line 2" in h[bad.name]["message"]
    # Nothing of the lying host was kept, and its mark did not move.
    assert {r["host"] for r in collected(out)} == {good.name}
    assert bad.name not in json.loads((out / "state.json").read_text())["hosts"]


def test_a_host_without_a_store_and_a_bad_out_folder(fleet, tmp_path, capsys):
    with_samples(fleet)  # no store was ever made on these kiosks
    out = tmp_path / "collected"
    code, report = collect(capsys, fleet, out)
    assert code == 1
    assert all("no sample store" in h["message"] for h in report["hosts"])
    (out / "state.json").write_text("{garbage")
    code = deploy(["collect", *fleet.args(), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("digitkiosk-deploy: error: ") and "state file" in err
    assert err.count("\n") == 1
