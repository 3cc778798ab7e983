"""`digitkiosk samples count|export|purge` in-process (sqlite-utils style) on real store files."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from digitkiosk.device import cli
from digitkiosk.device.commands.samples import parse_time
from digitkiosk.device.samples import open_store, store_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_count_plain_and_json(filled_store, capsys):
    code, out, _ = run(capsys, "samples", "count", "--samples", str(filled_store))
    assert code == 0 and out.strip() == "8 samples (6 corrections, 2 unconfirmed)"
    code, out, _ = run(capsys, "samples", "count", "--samples", str(filled_store), "--json")
    info = json.loads(out)
    assert info["samples"] == 8 and info["corrections"] == 6 and info["last_id"] == 8
    assert info["kiosk"] == "kiosk-a" and info["size_bytes"] > 0


def test_environment_names_the_store(filled_store, capsys, monkeypatch):
    monkeypatch.setenv("DIGITKIOSK_SAMPLES", str(filled_store))
    code, out, _ = run(capsys, "samples", "count")
    assert code == 0 and out.startswith("8 samples")


def test_export_is_the_pen_data_format_the_trainer_reads(filled_store, capsys, tmp_path, pendigits_train):
    code, out, _ = run(capsys, "samples", "export", "--samples", str(filled_store))
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and len(lines) == 6  # corrections only, by default
    for i, row in enumerate(lines):
        assert row["label"] == pendigits_train[i]["label"] and row["confirmed"] is True
        assert {"strokes", "writer", "predicted", "model", "time", "kiosk", "id", "uid"} <= set(row)
        assert row["kiosk"] == "kiosk-a" and row["writer"].startswith("kiosk-a/")
    # The very same file through the trainer's pen-data reader.
    from digitkiosk.train.pendigits import load_jsonl

    f = tmp_path / "export.jsonl"
    f.write_text(out)
    assert [r["label"] for r in load_jsonl(f)] == [r["label"] for r in lines]

    code, out, _ = run(capsys, "samples", "export", "--samples", str(filled_store), "--all")
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["confirmed"] for r in rows] == [True] * 6 + [False] * 2
    assert all(r["label"] is None for r in rows[6:])


def test_export_since_and_after_id(filled_store, capsys):
    with open_store(filled_store) as store:
        t4 = store.samples()[4].time
    _, out, _ = run(capsys, "samples", "export", "--samples", str(filled_store), "--since", str(t4))
    assert [json.loads(x)["id"] for x in out.splitlines()] == [5, 6]
    _, out, _ = run(capsys, "samples", "export", "--samples", str(filled_store), "--all", "--after-id", "6")
    assert [json.loads(x)["id"] for x in out.splitlines()] == [7, 8]


def test_purge_all_since_and_up_to_id(filled_store, capsys):
    code, out, _ = run(capsys, "samples", "purge", "--samples", str(filled_store), "--up-to-id", "3")
    assert code == 0 and out.strip() == "purged 3 samples"
    code, out, _ = run(capsys, "samples", "purge", "--samples", str(filled_store), "--since", "3.5h")
    assert out.strip() == "purged 3 samples"  # ids 6-8, written 3, 2 and 1 hours ago
    code, out, _ = run(capsys, "samples", "purge", "--samples", str(filled_store))
    assert out.strip() == "purged 2 samples"
    code, out, _ = run(capsys, "samples", "count", "--samples", str(filled_store))
    assert out.startswith("0 samples")


def test_parse_time_forms():
    now = 1_800_000_000.0
    assert parse_time("7d", now) == now - 7 * 86400
    assert parse_time("90m", now) == now - 5400
    assert parse_time("1764500000") == 1764500000.0
    assert parse_time("2026-11-30") == 1795996800.0
    assert parse_time("2026-11-30T01:00:00+01:00") == 1795996800.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["count", "--samples", "{missing}"], "no sample store"),
        (["export", "--samples", "{foreign}"], "not a digitkiosk sample store"),
        (["count", "--samples", "{garbage}"], "not a readable sample store"),
    ],
)
def test_bad_stores_are_one_line_errors(tmp_path, capsys, args, message):
    foreign, garbage = tmp_path / "foreign", tmp_path / "garbage"
    foreign.mkdir()
    garbage.mkdir()
    db = sqlite3.connect(store_path(foreign))
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    store_path(garbage).write_bytes(b"\x00garbage" * 1000)
    paths = {"missing": tmp_path / "missing", "foreign": foreign, "garbage": garbage}
    code, out, err = run(capsys, "samples", *(a.format(**paths) for a in args))
    assert code == 2 and out == ""
    assert err.startswith("digitkiosk: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("since", ["yesterday", "7 days", "2026-13-01"])
def test_a_bad_time_is_a_usage_error(filled_store, capsys, since):
    with pytest.raises(SystemExit) as e:
        cli.main(["samples", "count", "--samples", str(filled_store), "--since", since])
    assert e.value.code == 2 and "not a time" in capsys.readouterr().err


def test_export_while_a_writer_holds_the_store(filled_store, capsys, make_sample):
    """WAL: the kiosk keeps its store open and writing; an export reads a consistent snapshot."""
    from digitkiosk.device.samples import SampleStore

    with SampleStore(filled_store) as kiosk_store:
        kiosk_store.add(make_sample(9, t=time.time()))
        code, out, _ = run(capsys, "samples", "export", "--samples", str(filled_store))
        assert code == 0 and len(out.splitlines()) == 7
