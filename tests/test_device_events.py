"""The one event log (device/events.py) every front end writes: real files, real streams."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from digitkiosk.device.errors import InputError
from digitkiosk.device.events import EventLog


def _lines(text: str) -> list[dict]:
    return [json.loads(x) for x in text.splitlines()]


def test_writes_json_lines_to_a_file_and_a_stream(tmp_path):
    path, stream = tmp_path / "events.jsonl", io.StringIO()
    with EventLog(path, stream=stream) as log:
        log.emit("ready", canvas={"x": 1}, probs=np.arange(3, dtype=np.float32), where=tmp_path)
        log.emit("cleared", reason="key")
    for text in (path.read_text(), stream.getvalue()):
        lines = _lines(text)
        assert [e["event"] for e in lines] == ["ready", "cleared"]
        assert lines[0]["probs"] == [0.0, 1.0, 2.0] and lines[0]["where"] == str(tmp_path)
        assert list(lines[0])[:2] == ["event", "time"] and lines[1]["reason"] == "key"
    EventLog().emit("ready")  # neither: a no-op


def test_a_tagged_log_shares_the_file_and_adds_its_fields(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    camera = log.tagged(mode="camera")
    camera.emit("reading", text="42")
    camera.close()  # the kiosk's log stays open
    log.emit("camera_closed")
    log.close()
    lines = _lines(path.read_text())
    assert lines[0]["event"] == "reading" and lines[0]["mode"] == "camera" and lines[0]["text"] == "42"
    assert lines[1]["event"] == "camera_closed" and "mode" not in lines[1]


def test_an_output_that_fails_is_dropped_and_the_other_goes_on(caplog):
    stream = io.StringIO()
    log = EventLog("/dev/full", stream=stream)  # every write to /dev/full fails with ENOSPC
    log.emit("prediction", text="1")
    log.emit("prediction", text="2")
    assert [e["text"] for e in _lines(stream.getvalue())] == ["1", "2"]
    assert sum("cannot be written" in r.message for r in caplog.records) == 1  # said once
    log.close()


def test_a_closed_stream_never_raises():
    stream = io.StringIO()
    log = EventLog(stream=stream)
    stream.close()  # the reader went away
    log.emit("status", state="live")
    log.emit("status", state="ended")


def test_a_file_that_cannot_be_opened_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="cannot write the event log"):
        EventLog(tmp_path / "missing" / "events.jsonl")
