"""The sample store on real SQLite files: bounds, refusals of foreign and damaged files, a full
disk, and a real `kill -9` of a process in the middle of writing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from digitkiosk.device.samples import Sample, SampleStore, SampleStoreError, open_store, store_path
from digitkiosk.device.samples.records import sample_from_json, sample_to_json


def test_samples_round_trip_with_what_training_needs(samples_dir, make_sample):
    with SampleStore(samples_dir, kiosk="lobby-1") as store:
        s = make_sample(3, label="7")
        sid = store.add(s)
        assert sid == 1 and len(s.uid) == 32 and s.kiosk == "lobby-1"
        (back,) = store.samples()
    assert back.strokes == s.strokes and back.label == "7" and back.predicted == "?"
    assert back.model == "1.4.0" and back.confirmed and back.kiosk == "lobby-1"
    line = sample_to_json(back)
    assert line["label"] == 7 and line["writer"].startswith("lobby-1/") and line["id"] == 1
    assert sample_from_json(json.loads(json.dumps(line))).strokes == s.strokes
    # Only these columns exist: no image, no free text.
    cols = [r[1] for r in sqlite3.connect(store_path(samples_dir)).execute("PRAGMA table_info(samples)")]
    assert cols == ["id", "uid", "time", "label", "predicted", "model", "confirmed", "strokes"]


def test_store_is_wal_and_kept_from_other_users(samples_dir, make_sample):
    with SampleStore(samples_dir) as store:
        store.add(make_sample())
    db = sqlite3.connect(store_path(samples_dir))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store_path(samples_dir).stat().st_mode & 0o007 == 0


def test_not_a_digit_and_unconfirmed_readings(samples_dir, make_sample):
    with SampleStore(samples_dir) as store:
        store.add(make_sample(0, label="none"))
        store.add(make_sample(1, confirmed=False))
        rows = store.samples()
        assert store.count() == 2 and store.count(confirmed_only=True) == 1
        assert [s.id for s in store.samples(confirmed_only=True)] == [1]
    none, unconfirmed = (sample_to_json(s) for s in rows)
    assert none["label"] is None and none["not_a_digit"] is True and none["confirmed"] is True
    assert unconfirmed["label"] is None and unconfirmed["confirmed"] is False
    assert "not_a_digit" not in unconfirmed


@pytest.mark.parametrize(
    "bad",
    [
        {"label": "x"},
        {"label": None},  # confirmed needs a label
        {"strokes": []},
        {"strokes": [[[0, float("nan")]]]},
        {"strokes": [[[0, 0]]] * 61},
        {"strokes": [[[i, i] for i in range(4001)]]},
        {"model": "m" * 65},
    ],
)
def test_bad_samples_are_refused_before_the_store(bad):
    fields = {"strokes": [[[0, 0], [1, 1]]], "label": "3", "predicted": "3", "model": "1", "time": 1.0}
    with pytest.raises(ValueError):
        Sample(**{**fields, **bad})


def test_the_newest_samples_are_kept_within_the_count_bound(samples_dir, make_sample):
    now = time.time()
    with SampleStore(samples_dir, max_count=5) as store:
        for i in range(8):
            store.add(make_sample(i, t=now - 100 + i))
        assert store.count() == 5
        assert [s.id for s in store.samples()] == [4, 5, 6, 7, 8]
        # Ids are never reused, even after everything is purged: collect's high-water mark holds.
        assert store.purge() == 5
        assert store.last_id() == 8  # the high-water mark survives the purge
        assert store.add(make_sample(0)) == 9


def test_the_newest_samples_are_kept_within_the_size_bound(samples_dir, make_sample):
    now = time.time()
    sizes = [len(json.dumps(make_sample(i).strokes, separators=(",", ":"))) for i in range(6)]
    with SampleStore(samples_dir, max_bytes=sum(sizes[3:6])) as store:
        for i in range(6):
            store.add(make_sample(i, t=now - 100 + i))
        assert [s.id for s in store.samples()] == [4, 5, 6]


def test_samples_older_than_the_age_bound_are_dropped(samples_dir, make_sample):
    now = time.time()
    with SampleStore(samples_dir, max_age_s=3600) as store:
        store.add(make_sample(0, t=now - 7200))  # dropped by its own insert: too old already
        store.add(make_sample(1, t=now - 60))
        assert [s.time for s in store.samples()] == [pytest.approx(now - 60)]


def test_since_and_after_id_select_and_purge(filled_store):
    with open_store(filled_store) as store:
        all_rows = store.samples()
        t3 = all_rows[3].time
        assert [s.id for s in store.samples(since=t3)] == [4, 5, 6, 7, 8]
        assert [s.id for s in store.samples(after_id=6)] == [7, 8]
        assert store.purge(up_to_id=2) == 2
        assert store.purge(since=t3) == 5
        assert [s.id for s in store.samples()] == [3]


def test_a_missing_store_is_an_error_when_reading(tmp_path):
    with pytest.raises(SampleStoreError, match="no sample store"):
        open_store(tmp_path / "nothing")


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_another_programs_sqlite_file_is_refused_and_left_alone(samples_dir):
    samples_dir.mkdir()
    db = sqlite3.connect(store_path(samples_dir))
    db.execute("CREATE TABLE contacts (name TEXT)")
    db.execute("INSERT INTO contacts VALUES ('someone')")
    db.commit()
    db.close()
    before = _sha(store_path(samples_dir))
    with pytest.raises(SampleStoreError, match="not a digitkiosk sample store"):
        SampleStore(samples_dir)
    assert _sha(store_path(samples_dir)) == before


@pytest.mark.parametrize("content", [b"not a database at all\n" * 50, os.urandom(8192)])
def test_a_file_that_is_not_sqlite_is_refused(samples_dir, content):
    samples_dir.mkdir()
    store_path(samples_dir).write_bytes(content)
    with pytest.raises(SampleStoreError) as e:
        SampleStore(samples_dir)
    assert "\n" not in str(e.value) and str(store_path(samples_dir)) in str(e.value)
    assert store_path(samples_dir).read_bytes() == content


def test_a_damaged_store_is_refused(filled_store, make_sample):
    with SampleStore(filled_store) as store:  # enough pages that damage lands inside the data
        for i in range(200):
            store.add(make_sample(i))
    db = sqlite3.connect(store_path(filled_store))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    path = store_path(filled_store)
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), 3 * page):  # scribble over every third page
        data[offset + 8 : offset + 200] = os.urandom(192)
    path.write_bytes(bytes(data))
    with pytest.raises(SampleStoreError) as e, SampleStore(filled_store) as store:
        store.samples()
    assert "\n" not in str(e.value)


def test_a_full_disk_is_a_clean_error_and_the_store_stays_usable(samples_dir, make_sample):
    with SampleStore(samples_dir) as store:
        store.add(make_sample(0))
        # SQLite's own "database or disk is full" (SQLITE_FULL), as on a full card: cap the file.
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(SampleStoreError, match="the disk is full"):
            for i in range(1, 200):
                store.add(make_sample(i))
        kept = store.count()
    with open_store(samples_dir) as store:
        assert store.count() == kept >= 1  # every sample written before the disk filled


WRITER = r"""
import json, sys, time
from digitkiosk.device.samples import Sample, SampleStore
rows = [json.loads(l) for l in open(sys.argv[2])]
with SampleStore(sys.argv[1], max_count=400) as store:
    i = 0
    while True:
        r = rows[i % len(rows)]
        sid = store.add(Sample(r["strokes"], str(r["label"]), "?", "1.4.0", time.time()))
        print(sid, flush=True)  # printed only once add() returned: committed
        i += 1
"""


def test_kill_9_while_writing_keeps_every_committed_sample(tmp_path, samples_dir, pendigits_train):
    """A real writer process killed with SIGKILL at arbitrary moments (power loss for the
    process): the store opens, passes SQLite's integrity check, and holds every sample whose
    write had returned. Repeated, so kills land inside transactions, fsyncs and bound deletions."""
    from digitkiosk.device.samples.records import round_strokes

    src = tmp_path / "rows.jsonl"
    src.write_text(
        "".join(
            json.dumps({"label": r["label"], "strokes": round_strokes(r["strokes"])}) + "\n"
            for r in pendigits_train[:50]
        )
    )
    committed: set[int] = set()
    for round_ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(samples_dir), str(src)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = 0
        target = 20 + 37 * round_  # kill at a different point each round
        deadline = time.monotonic() + 60
        while seen < target and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed.add(int(line))
            seen += 1
        assert seen == target, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
        committed |= {int(x) for x in rest.split()}  # ids printed before the kill landed
        assert proc.returncode == -signal.SIGKILL
        with open_store(samples_dir, max_count=400) as store:
            ids = {s.id for s in store.samples()}
            db = store._db
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        newest = sorted(committed)[-min(400, len(committed)) :]
        assert set(newest) <= ids, sorted(set(newest) - ids)[:10]
