"""The kiosk's writes to the sample store, on a thread of their own.

A write is a transaction with an fsync (tens of milliseconds on an SD card, more when the card is
busy); on the Tk thread it would stall the next stroke. The UI thread only queues a sample; the
outcome (stored, or why not) comes back through `done`, which the kiosk's pump drains.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

from .records import Sample
from .store import SampleStore, SampleStoreError

log = logging.getLogger(__name__)


@dataclass
class Written:
    sample: Sample
    error: str | None = None  # None: stored (sample.id is set)


class SampleWriter:
    """Owns an open store; `put` queues a sample, `close` writes what is queued and closes."""

    def __init__(self, store: SampleStore) -> None:
        self.store = store
        self.done: queue.Queue[Written] = queue.Queue()
        self._todo: queue.Queue[Sample | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sample-writer", daemon=True)
        self._thread.start()

    def put(self, sample: Sample) -> None:
        self._todo.put(sample)

    def _run(self) -> None:
        while True:
            sample = self._todo.get()
            if sample is None:
                return
            try:
                self.store.add(sample)
                self.done.put(Written(sample))
            except SampleStoreError as e:
                # A full disk or a card gone read-only: the kiosk keeps reading digits and says so.
                log.error("%s", e)
                self.done.put(Written(sample, str(e)))
            except Exception as e:  # never let the writer thread die silently
                log.exception("sample writer failed")
                self.done.put(Written(sample, f"{type(e).__name__}: {e}"))

    def close(self, timeout: float = 5.0) -> None:
        self._todo.put(None)
        self._thread.join(timeout)
        self.store.close()

    def __enter__(self) -> SampleWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
