"""Corrections people make at the kiosk, kept to train the fleet's next model.

store.py (the SQLite sample store: bounded, power-loss safe), records.py (a sample ↔ the shared
pen-data JSON line), writer.py (the kiosk's writes, off the UI thread).
"""

from .records import Sample, sample_from_json, sample_to_json
from .store import SampleStore, SampleStoreError, open_store, store_path

__all__ = [
    "Sample",
    "SampleStore",
    "SampleStoreError",
    "open_store",
    "sample_from_json",
    "sample_to_json",
    "store_path",
]
