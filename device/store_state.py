"""The model store's bookkeeping: `state.json` (last self-test, last error, recent history), the
result of an install / activate / rollback, and the store's status: what `digitkiosk model status
--json` prints and `digitkiosk-deploy` reads back over SSH (`StoreStatus`, one record for both
sides of that contract)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .fileutil import atomic_write_text

log = logging.getLogger(__name__)

HISTORY_LENGTH = 20


@dataclass
class InstallResult:
    action: str  # "installed", "repaired", "activated", "rolled back" or "unchanged"
    version: str
    previous: str | None
    selftest_accuracy: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "version": self.version,
            "previous": self.previous,
            "selftest_accuracy": self.selftest_accuracy,
        }


@dataclass
class StoreStatus:
    """The store's status. `healthy` and `check_error` are there only when the active model was
    checked (loaded and self-tested now); `damaged` only when the active version's files are
    unreadable. Read back from JSON, missing fields are None and unknown ones are ignored, so a
    kiosk one release apart still answers."""

    store: str = ""
    kind: str = "digit"  # which kind of model (model_kinds.py); a kiosk before kinds had only this
    active: str | None = None
    previous: str | None = None
    model_path: str | None = None
    sha256: str | None = None
    card_sha256: str | None = None  # of the card's exact bytes: what a push compares
    selftest: dict[str, Any] | None = None
    last_error: dict[str, Any] | None = None
    versions: list[str] = field(default_factory=list)
    damaged: str | None = None
    healthy: bool | None = None
    check_error: str | None = None

    _OPTIONAL = ("damaged", "healthy", "check_error")

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in self._OPTIONAL:
            if out[name] is None:
                del out[name]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoreStatus:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def last_error_message(self) -> str | None:
        return self.last_error.get("message") if isinstance(self.last_error, dict) else None


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        if self.path.is_symlink():
            return {}
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}

    def write(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(state, indent=1) + "\n")

    def record_error(self, action: str, message: str, active: str | None) -> None:
        try:
            state = self.read()
            state["last_error"] = {"action": action, "message": message, "at": _now()}
            self.append_history(state, f"{action} failed", None, active, message)
            self.write(state)
        except OSError as e:  # a full or read-only disk must not hide the original error
            log.warning("could not record the error in %s: %s", self.path, e)

    @staticmethod
    def accuracy(loaded: Any) -> float | None:
        """A loaded model's self-test accuracy; None for a kind whose self-test is not one (the
        line model's: an empty field reads as nothing)."""
        return getattr(loaded, "selftest_accuracy", None)

    @staticmethod
    def selftest_record(version: str, loaded: Any) -> dict[str, Any]:
        """`loaded`: any kind of model (model_kinds.py); each has a backend and a trust."""
        return {
            "version": version,
            "ok": True,
            "accuracy": StateFile.accuracy(loaded),
            "backend": loaded.backend,
            "trust": loaded.trust,
            "at": _now(),
        }

    @staticmethod
    def append_history(
        state: dict[str, Any],
        action: str,
        version: str | None,
        previous: str | None,
        message: str | None = None,
    ) -> None:
        entry = {"at": _now(), "action": action, "version": version, "previous": previous}
        if message:
            entry["message"] = message
        state["history"] = [*state.get("history", []), entry][-HISTORY_LENGTH:]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
