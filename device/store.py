"""The device's model store: versioned directories and a `current` link that moves atomically.

    <store>/versions/<version>/{<name>.tflite, <name>.json, <name>.json.sig}
    <store>/current  -> versions/<version>     (what the kiosk runs)
    <store>/previous -> versions/<version>     (what `rollback` returns to)
    <store>/state.json                         (last self-test, last error, recent history)
    <store>/.lock                              (one store operation at a time)

A model is verified (signature, size, sha256), copied into a hidden directory inside the store,
loaded through the verified path and self-tested *there*; only then is the directory renamed
into `versions/` and `current` switched — a new link made under a temporary name, then renamed
over the old one, then the folder fsynced. The kiosk watches `<store>/current/<model file>`: a
stable path that only ever points at a complete, verified model. A crash or a cut at any point
leaves the previous model running.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ChecksumMismatchError, DigitkioskError, ModelCardError, ModelError, SignatureError
from .fileutil import atomic_write_text, fsync_dir, sha256_bytes
from .modelcard import card_path_for, parse_card
from .signing import (
    allow_unsigned_from_env,
    load_trusted_keys,
    make_verifier,
    signature_path_for,
    trust_dir_from_env,
    verify_card_bytes,
)

if TYPE_CHECKING:  # the loader pulls in numpy and the interpreter: `status --no-check` does without
    from .loader import LoadedModel, Verifier

log = logging.getLogger(__name__)

DEFAULT_STORE = Path("/var/lib/digitkiosk/models")
ENV_STORE = "DIGITKIOSK_STORE"
KEEP_VERSIONS = 3  # current, previous and one more; older ones are pruned after an install
HISTORY_LENGTH = 20
# A version names a directory: keep it to characters that cannot climb out of the store.
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


class StoreError(DigitkioskError):
    """A store operation that cannot be done (nothing to roll back to, unknown version...)."""


class DowngradeError(StoreError):
    pass


def store_from_env(store: str | Path | None = None) -> Path:
    if store:
        return Path(store)
    env = os.environ.get(ENV_STORE)
    return Path(env) if env else DEFAULT_STORE


def version_key(version: str) -> tuple:
    """Order versions the way people number them: `2026.11.21.1258` < `2026.11.21.1300`,
    `1.10` > `1.9`. Numeric runs compare as numbers, other runs as text."""
    parts = re.findall(r"\d+|[^\d.+-]+", version)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


@dataclass
class InstallResult:
    action: str  # "installed" or "unchanged"
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


class ModelStore:
    def __init__(
        self,
        root: str | Path | None = None,
        *,
        trust_dir: str | Path | None = None,
        allow_unsigned: bool | None = None,
        backend: str | None = None,
    ) -> None:
        self.root = store_from_env(root)
        self.trust_dir = trust_dir_from_env(trust_dir)
        self.allow_unsigned = allow_unsigned_from_env(allow_unsigned)
        self.backend = backend
        self.versions_dir = self.root / "versions"
        self.current_link = self.root / "current"
        self.previous_link = self.root / "previous"
        self.state_path = self.root / "state.json"

    # -- reading -------------------------------------------------------------------------------

    def verifier(self) -> Verifier:
        return make_verifier(self.trust_dir, self.allow_unsigned)

    def _link_version(self, link: Path) -> str | None:
        try:
            target = os.readlink(link)
        except (FileNotFoundError, OSError):
            return None
        name = Path(target).name
        return name if (self.versions_dir / name).is_dir() else None

    @property
    def active_version(self) -> str | None:
        return self._link_version(self.current_link)

    @property
    def previous_version(self) -> str | None:
        return self._link_version(self.previous_link)

    def card_path(self, version: str) -> Path:
        cards = sorted((self.versions_dir / version).glob("*.json"))
        if not cards:
            raise StoreError(f"version {version} in {self.root} has no model card")
        return cards[0]

    def active_model_path(self) -> Path | None:
        """The stable path the kiosk loads and watches: `<store>/current/<card>.json`. It goes
        through the `current` link, so it changes (atomically) when a new model is activated."""
        version = self.active_version
        if version is None:
            return None
        return self.current_link / self.card_path(version).name

    def versions(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        names = [p.name for p in self.versions_dir.iterdir() if p.is_dir() and VERSION_RE.match(p.name)]
        return sorted(names, key=version_key)

    def read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}

    def list(self) -> list[dict[str, Any]]:
        active, previous = self.active_version, self.previous_version
        rows = []
        for version in self.versions():
            card = self._read_card_data(version)
            rows.append(
                {
                    "version": version,
                    "name": card.get("name"),
                    "sha256": card.get("sha256"),
                    "active": version == active,
                    "previous": version == previous,
                }
            )
        return rows

    def _read_card_data(self, version: str) -> dict[str, Any]:
        try:
            data = json.loads(self.card_path(version).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (DigitkioskError, OSError, ValueError):
            return {}

    def status(self, check: bool = True) -> dict[str, Any]:
        """Active and previous version, the last self-test, the last error; with `check`, the
        active model is loaded through the verified path and self-tested now (the health check)."""
        state = self.read_state()
        active = self.active_version
        result: dict[str, Any] = {
            "store": str(self.root),
            "active": active,
            "previous": self.previous_version,
            "model_path": str(self.active_model_path()) if active else None,
            "sha256": self._read_card_data(active).get("sha256") if active else None,
            "card_sha256": sha256_bytes(self.card_path(active).read_bytes()) if active else None,
            "selftest": state.get("selftest"),
            "last_error": state.get("last_error"),
            "versions": self.versions(),
        }
        if check:
            if active is None:
                result["healthy"] = False
                result["check_error"] = "no model installed"
            else:
                try:
                    loaded = self._load(self.current_link / self.card_path(active).name)
                except DigitkioskError as e:
                    result["healthy"] = False
                    result["check_error"] = str(e)
                else:
                    result["healthy"] = True
                    result["selftest"] = self._selftest_record(active, loaded)
        return result

    # -- changing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One store operation at a time (two pushes racing to the same kiosk)."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def install(self, model: str | Path, *, allow_downgrade: bool = False) -> InstallResult:
        with self._locked():
            try:
                return self._install(Path(model), allow_downgrade)
            except DigitkioskError as e:
                self._record_error("install", str(e))
                raise

    def activate(self, version: str) -> InstallResult:
        with self._locked():
            try:
                return self._activate(version, action="activated")
            except DigitkioskError as e:
                self._record_error("activate", str(e))
                raise

    def rollback(self) -> InstallResult:
        with self._locked():
            try:
                previous = self.previous_version
                if previous is None:
                    raise StoreError(f"nothing to roll back to: no previous version in {self.root}")
                return self._activate(previous, action="rolled back")
            except DigitkioskError as e:
                self._record_error("rollback", str(e))
                raise

    def _install(self, model: Path, allow_downgrade: bool) -> InstallResult:
        card_path = card_path_for(model)
        try:
            card_bytes = card_path.read_bytes()
        except FileNotFoundError:
            raise ModelError(f"model card not found: {card_path}") from None
        # Verify the signature over the exact bytes we will copy (never re-read after checking).
        sig_path = signature_path_for(card_path)
        trusted = load_trusted_keys(self.trust_dir)
        if not trusted and not self.allow_unsigned:
            raise SignatureError(f"no trusted keys in {self.trust_dir}: refusing {card_path}")
        verify_card_bytes(card_bytes, sig_path, trusted, self.allow_unsigned)
        try:
            data = json.loads(card_bytes.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ModelCardError(f"model card is not valid JSON: {card_path}") from None
        card = parse_card(data, card_path)
        version = card.version
        if not VERSION_RE.match(version):
            raise ModelCardError(f"model version {version!r} is not usable as a version name")
        model_bytes = self._read_model(card.model_file, card.size, card.sha256)

        active = self.active_version
        if (self.versions_dir / version).is_dir():
            existing = self.card_path(version).read_bytes()
            if existing != card_bytes:
                raise StoreError(
                    f"version {version} is already installed with different content: "
                    "give the new model a new version"
                )
            if active == version:
                log.info("version %s is already active: nothing to do", version)
                return InstallResult("unchanged", version, self.previous_version, None)
        if active is not None and not allow_downgrade and version_key(version) < version_key(active):
            raise DowngradeError(
                f"refusing to downgrade from {active} to {version} (use --allow-downgrade, "
                "or 'model rollback' / 'model activate')"
            )

        loaded = None
        if not (self.versions_dir / version).is_dir():
            loaded = self._stage_version(
                version, card_path.name, card_bytes, card.model_file.name, model_bytes, sig_path
            )
        return self._activate(version, action="installed", loaded=loaded)

    @staticmethod
    def _read_model(path: Path, size: int, digest: str) -> bytes:
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        if path.stat().st_size != size:
            raise ChecksumMismatchError(
                f"size mismatch: {path} is {path.stat().st_size} bytes, its card says {size} "
                "(incomplete transfer?)"
            )
        data = path.read_bytes()
        if sha256_bytes(data) != digest:
            raise ChecksumMismatchError(
                f"checksum mismatch: {path} does not match its card (tampered or corrupt)"
            )
        return data

    def _stage_version(
        self,
        version: str,
        card_name: str,
        card_bytes: bytes,
        model_name: str,
        model_bytes: bytes,
        sig_path: Path,
    ) -> LoadedModel:
        """Write the files into a hidden directory, load and self-test them there, then rename the
        directory into place: `versions/<v>` exists only complete and verified."""
        staging = Path(tempfile.mkdtemp(prefix=f".incoming-{version}-", dir=self.versions_dir))
        try:
            files = {card_name: card_bytes, model_name: model_bytes}
            if sig_path.exists():
                files[sig_path.name] = sig_path.read_bytes()
            for name, data in files.items():
                with open(staging / name, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            os.chmod(staging, 0o755)
            fsync_dir(staging)
            loaded = self._load(staging / card_name)  # signature, checksum, tensors, self-test
            os.rename(staging, self.versions_dir / version)
            fsync_dir(self.versions_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return loaded

    def _load(self, card_path: Path) -> LoadedModel:
        from .loader import load_model

        return load_model(card_path, backend=self.backend, verifier=self.verifier())

    def _activate(self, version: str, action: str, loaded: LoadedModel | None = None) -> InstallResult:
        if not VERSION_RE.match(version) or not (self.versions_dir / version).is_dir():
            raise StoreError(f"version {version!r} is not in the store {self.root}")
        active = self.active_version
        if active == version:
            return InstallResult("unchanged", version, self.previous_version, None)
        if loaded is None:  # check it again: a trusted key may have been revoked since
            loaded = self._load(self.versions_dir / version / self.card_path(version).name)
        if active is not None:
            self._switch_link(self.previous_link, active)
        self._switch_link(self.current_link, version)
        log.info("%s model %s (was %s)", action, version, active)
        state = self.read_state()
        state["selftest"] = self._selftest_record(version, loaded)
        self._append_history(state, action, version, active)
        self._write_state(state)
        self._prune()
        return InstallResult(action, version, active, loaded.selftest_accuracy)

    def _switch_link(self, link: Path, version: str) -> None:
        """Point `link` at `versions/<version>` atomically: new link under a temp name, rename."""
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(Path("versions") / version, tmp)  # relative: the store can be moved or mounted
        os.replace(tmp, link)
        fsync_dir(self.root)

    def _prune(self) -> None:
        keep = {v for v in (self.active_version, self.previous_version) if v}
        others = [v for v in self.versions() if v not in keep]  # oldest first
        spare = max(0, KEEP_VERSIONS - len(keep))
        for version in others[: max(0, len(others) - spare)]:
            log.info("pruning old model version %s", version)
            shutil.rmtree(self.versions_dir / version, ignore_errors=True)
        # Leftovers of an install cut short (power loss mid-copy).
        for leftover in self.versions_dir.glob(".incoming-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    @staticmethod
    def _selftest_record(version: str, loaded: LoadedModel) -> dict[str, Any]:
        return {
            "version": version,
            "ok": True,
            "accuracy": loaded.selftest_accuracy,
            "backend": loaded.backend,
            "at": _now(),
        }

    def _record_error(self, action: str, message: str) -> None:
        try:
            state = self.read_state()
            state["last_error"] = {"action": action, "message": message, "at": _now()}
            self._append_history(state, f"{action} failed", None, self.active_version, message)
            self._write_state(state)
        except OSError as e:  # a full or read-only disk must not hide the original error
            log.warning("could not record the error in %s: %s", self.state_path, e)

    @staticmethod
    def _append_history(
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

    def _write_state(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.state_path, json.dumps(state, indent=1) + "\n")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
