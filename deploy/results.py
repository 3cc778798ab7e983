"""What a rollout reports for each host: `HostResult`, and the whole run as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from digitkiosk.device.store_state import StoreStatus

OK, UNCHANGED, FAILED, SKIPPED, PLANNED = "ok", "unchanged", "failed", "skipped", "dry-run"


@dataclass
class HostResult:
    host: str
    status: str  # ok | unchanged | failed | skipped | dry-run
    message: str = ""
    active: str | None = None
    previous: str | None = None
    healthy: bool | None = None
    seconds: float = 0.0

    @classmethod
    def seen(
        cls, host: str, status: str, message: str, device: StoreStatus, healthy: bool | None = None
    ) -> HostResult:
        """A result with the versions the device's store reported."""
        return cls(host, status, message, device.active, device.previous, healthy)

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, SKIPPED)


def results_json(results: list[HostResult], **extra: Any) -> dict[str, Any]:
    return {**extra, "ok": not any(r.failed for r in results), "hosts": [asdict(r) for r in results]}
