"""The kiosk's sample store: one SQLite database, `<DIR>/samples.sqlite3`.

Why SQLite (the standard library's sqlite3, no new dependency): a sample is written in one
transaction, and SQLite's journal makes a transaction all-or-nothing across a crash or a power
cut, which a JSON-lines file appended to cannot promise (a torn last line, a half-flushed page).

Guarantees (tested with a real `kill -9` of a writing process):
- WAL journal with synchronous=FULL: a sample is on disk when `add` returns; a crash at any
  moment leaves a store that opens and holds every sample whose `add` returned.
- Bounded: at most `max_count` samples, none older than `max_age_s`, and at most `max_bytes` of
  strokes; the oldest go first, in the same transaction as the insert, so the bounds hold after
  every write.
- Only what training needs: strokes, the label chosen, what was read, the model version, a time,
  and whether a person confirmed it. No images, no free text, no names.
- A file that is not a sample store (another program's SQLite file, a damaged file, not SQLite at
  all) is refused with one line (SampleStoreError), never modified.
- Ids grow and are never reused (AUTOINCREMENT), even after purges: `collect` asks a kiosk for
  the samples after the last id it has, and fetches each sample once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import DigitkioskError
from .records import Sample

log = logging.getLogger(__name__)

FILE_NAME = "samples.sqlite3"
# PRAGMA application_id marks the file as ours ("DKSM"): a foreign SQLite file is refused.
APPLICATION_ID = 0x444B534D
SCHEMA_VERSION = 1
DEFAULT_MAX_COUNT = 5000
DEFAULT_MAX_AGE_S = 365 * 86400.0
# The strokes' JSON, summed: a digit drawn on a kiosk is 0.5-4 KB, so 5,000 of them fit, and a
# kiosk whose users scribble still stays small. With SQLite's overhead and the WAL (kept to about
# 1 MB) the files stay under 20 MB.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
WAL_PAGES = 256  # checkpoint the WAL every 256 pages (1 MB) and truncate it back to that
BUSY_TIMEOUT_S = 5.0  # the kiosk writes while `digitkiosk samples` or collect reads/purges

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    time REAL NOT NULL,
    label TEXT,
    predicted TEXT NOT NULL,
    model TEXT NOT NULL,
    confirmed INTEGER NOT NULL,
    strokes TEXT NOT NULL
);
CREATE INDEX samples_time ON samples (time);
"""


class SampleStoreError(DigitkioskError):
    """The store cannot be opened or written (foreign or damaged file, full disk, no permission)."""


def store_path(directory: str | Path) -> Path:
    return Path(directory) / FILE_NAME


def default_kiosk_id() -> str:
    """The host's name: what a new store records unless given a kiosk name (DIGITKIOSK_KIOSK_ID,
    read by the command's settings)."""
    return socket.gethostname() or "kiosk"


def _why(e: sqlite3.Error) -> str:
    text = str(e)
    if isinstance(e, sqlite3.DatabaseError) and "full" in text:
        return "the disk is full"
    return text


class SampleStore:
    """An open store. Use as a context manager, or call close()."""

    def __init__(
        self,
        directory: str | Path,
        *,
        create: bool = True,
        max_count: int = DEFAULT_MAX_COUNT,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        kiosk: str | None = None,
    ) -> None:
        if max_count < 1 or max_age_s <= 0 or max_bytes < 1:
            raise SampleStoreError("the sample store needs a positive maximum count, age and size")
        self.path = store_path(directory)
        self.max_count = max_count
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        if not self.path.exists():
            if not create:
                raise SampleStoreError(f"no sample store in {Path(directory)} ({FILE_NAME} not found)")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise SampleStoreError(f"cannot create {self.path.parent}: {e.strerror or e}") from None
        elif not self.path.is_file():
            raise SampleStoreError(f"{self.path} is not a file")
        try:
            # check_same_thread off: the kiosk opens the store on the UI thread (so a refused store is
            # reported at start-up) and writes from its writer thread, one at a time.
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise SampleStoreError(f"cannot open the sample store {self.path}: {_why(e)}") from None
        try:
            self._open(kiosk)
        except sqlite3.Error as e:
            self._db.close()
            raise SampleStoreError(f"{self.path} is not a readable sample store ({_why(e)})") from None
        except SampleStoreError:
            self._db.close()
            raise

    def _open(self, kiosk: str | None) -> None:
        db = self._db
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID:
            if app_id != 0 or tables:
                raise SampleStoreError(
                    f"{self.path} is not a digitkiosk sample store (another program's file)"
                )
            self._create(kiosk or default_kiosk_id())
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise SampleStoreError(
                f"{self.path}: sample store format {version}, this kiosk reads {SCHEMA_VERSION}"
            )
        # A torn or damaged file must be refused at open, not half-read later.
        check = db.execute("PRAGMA quick_check(5)").fetchall()
        if [r[0] for r in check] != ["ok"]:
            lines = [line for r in check for line in str(r[0]).splitlines() if not line.startswith("***")]
            why = lines[0] if lines else "integrity check failed"
            raise SampleStoreError(f"{self.path} is damaged ({why})")
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: in WAL mode, NORMAL may lose the last commits on a power cut; a correction a person
        # just made is worth the fsync.
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        db.execute(f"PRAGMA journal_size_limit={WAL_PAGES * 4096}")
        row = db.execute("SELECT value FROM meta WHERE key = 'kiosk'").fetchone()
        self.kiosk = row[0] if row else default_kiosk_id()

    def _create(self, kiosk: str) -> None:
        db = self._db
        db.execute("PRAGMA journal_mode=WAL")
        # One transaction (executescript would commit on its own): a crash while creating leaves
        # an empty file, which is created again, never a store with half a schema.
        with self._transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO meta VALUES ('kiosk', ?), ('created', ?)", (kiosk, str(time.time())))
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o640)  # samples are people's handwriting: not world-readable

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- writing --------------------------------------------------------------------------------
    def add(self, sample: Sample) -> int:
        """Store one sample (durably) and drop what exceeds the bounds. → its id."""
        uid = sample.uid or uuid.uuid4().hex
        try:
            with self._transaction():
                cur = self._db.execute(
                    "INSERT INTO samples (uid, time, label, predicted, model, confirmed, strokes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        uid,
                        float(sample.time),
                        sample.label,
                        sample.predicted,
                        sample.model,
                        int(sample.confirmed),
                        json.dumps(sample.strokes, separators=(",", ":")),
                    ),
                )
                new_id = int(cur.lastrowid)
                self._enforce_bounds(time.time())
        except sqlite3.Error as e:
            raise SampleStoreError(f"cannot store the sample in {self.path}: {_why(e)}") from None
        sample.id, sample.uid, sample.kiosk = new_id, uid, self.kiosk
        return new_id

    def _enforce_bounds(self, now: float) -> None:
        db = self._db
        db.execute("DELETE FROM samples WHERE time < ?", (now - self.max_age_s,))
        db.execute(
            "DELETE FROM samples WHERE id IN (SELECT id FROM samples ORDER BY time DESC, id DESC "
            "LIMIT -1 OFFSET ?)",
            (self.max_count,),
        )
        db.execute(
            "DELETE FROM samples WHERE id IN (SELECT id FROM (SELECT id, sum(length(strokes)) OVER "
            "(ORDER BY time DESC, id DESC) AS newer FROM samples) WHERE newer > ?)",
            (self.max_bytes,),
        )

    def purge(self, *, since: float | None = None, up_to_id: int | None = None) -> int:
        """Delete samples (all, or those from `since`, or those with id ≤ `up_to_id`). → how many."""
        where, params = _where(since=since, up_to_id=up_to_id)
        try:
            with self._transaction():
                n = self._db.execute(f"DELETE FROM samples{where}", params).rowcount
        except sqlite3.Error as e:
            raise SampleStoreError(f"cannot purge {self.path}: {_why(e)}") from None
        return int(n)

    # -- reading --------------------------------------------------------------------------------
    def count(self, *, since: float | None = None, confirmed_only: bool = False) -> int:
        where, params = _where(since=since, confirmed_only=confirmed_only)
        return int(self._query(f"SELECT count(*) FROM samples{where}", params)[0][0])

    def samples(
        self, *, since: float | None = None, after_id: int | None = None, confirmed_only: bool = False
    ) -> list[Sample]:
        """Samples in id order (oldest first)."""
        where, params = _where(since=since, after_id=after_id, confirmed_only=confirmed_only)
        rows = self._query(
            "SELECT id, uid, time, label, predicted, model, confirmed, strokes FROM samples"
            f"{where} ORDER BY id",
            params,
        )
        out = []
        for sid, uid, t, label, predicted, model, confirmed, strokes in rows:
            try:
                strokes = json.loads(strokes)
                out.append(Sample(strokes, label, predicted, model, t, bool(confirmed), sid, uid, self.kiosk))
            except ValueError as e:
                # A row no kiosk of ours writes: skipped with a warning rather than failing an export.
                log.warning("%s: sample %s skipped (%s)", self.path, sid, e)
        return out

    def last_id(self) -> int:
        """The highest id ever given out (AUTOINCREMENT's own counter): it stays after a purge, so
        collect tells a purged store (same ids go on) from one made anew (ids restart)."""
        rows = self._query("SELECT seq FROM sqlite_sequence WHERE name = 'samples'", ())
        return int(rows[0][0]) if rows else 0

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(FILE_NAME + "*") if p.is_file())

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise SampleStoreError(f"cannot read {self.path}: {_why(e)}") from None

    # -- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def __enter__(self) -> SampleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _where(
    *,
    since: float | None = None,
    after_id: int | None = None,
    up_to_id: int | None = None,
    confirmed_only: bool = False,
) -> tuple[str, tuple]:
    clauses, params = [], []
    if since is not None:
        clauses.append("time >= ?")
        params.append(float(since))
    if after_id is not None:
        clauses.append("id > ?")
        params.append(int(after_id))
    if up_to_id is not None:
        clauses.append("id <= ?")
        params.append(int(up_to_id))
    if confirmed_only:
        clauses.append("confirmed = 1")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def open_store(directory: str | Path, *, create: bool = False, **kwargs) -> SampleStore:
    """Open an existing store (create=False: a missing one is an error, not a new empty store)."""
    return SampleStore(directory, create=create, **kwargs)
