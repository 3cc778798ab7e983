"""The kiosk writes its events through the device's one event log (`device/events.py`); this
name stays importable for code written against the kiosk package."""

from ..events import EventLog

__all__ = ["EventLog"]
