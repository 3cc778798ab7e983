"""The device's model store: versioned directories and a `current` link that moves atomically.

    <store>/versions/<version>/{<model>.tflite, <model>.json, <model>.json.sig}
    <store>/current  -> versions/<version>     (what the kiosk runs)
    <store>/previous -> versions/<version>     (what `rollback` returns to)
    <store>/state.json                         (last self-test, last error, recent history)
    <store>/.lock                              (one store operation at a time)

That is the digit model's store; each other kind of model (model_kinds.py) has the same layout in
`<store>/<kind>/`, installed, activated and rolled back on its own.

A model package (package.py) is read once and verified against the trust policy, written into a
hidden directory inside the store, loaded and self-tested from the bytes just written; only then
is the directory renamed into `versions/` and `current` switched — a new link made under a
temporary name, then renamed over the old one, then the folder fsynced. The kiosk watches
`<store>/current/<model>.json`: a stable path that only ever points at a complete, verified
model. A crash or a cut at any point leaves the previous model running.

The store runs as root under sudo, so it trusts nothing it did not make: `versions`, `.lock`,
`state.json` and version folders that are symlinks are refused, it deletes only real folders
inside `versions/`, and (as root) a store that another user could write is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import DigitkioskError, ModelError
from .fileutil import fsync_dir
from .model_kinds import ModelKind, model_kind
from .package import ModelPackage, TrustPolicy
from .settings import DEFAULT_STORE, DEFAULT_TRUST_DIR
from .store_state import InstallResult, StateFile, StoreStatus
from .versioning import VERSION_RE, is_version, parse_version

log = logging.getLogger(__name__)

__all__ = ["VERSION_RE", "DowngradeError", "InstallResult", "ModelStore", "StoreError", "version_key"]

KEEP_VERSIONS = 3  # current, previous and one more; older ones are pruned after an install
LEFTOVERS = (".incoming-", ".damaged-")  # hidden folders of an install cut short


class StoreError(DigitkioskError):
    """A store operation that cannot be done (nothing to roll back to, unknown version...)."""


class DowngradeError(StoreError):
    pass


def version_key(version: str):
    """PEP 440 order (versioning.py)."""
    return parse_version(version)


class ModelStore:
    def __init__(
        self,
        root: str | Path | None = None,
        *,
        kind: str | ModelKind | None = None,
        trust_dir: str | Path | None = None,
        allow_unsigned: bool | None = None,
        backend: str | None = None,
        policy: TrustPolicy | None = None,
    ) -> None:
        self.kind = kind if isinstance(kind, ModelKind) else model_kind(kind)
        self.base = Path(root) if root is not None else DEFAULT_STORE  # the store folder
        self.root = self.kind.store_root(self.base)  # this kind's store in it
        self.policy = policy or TrustPolicy(trust_dir or DEFAULT_TRUST_DIR, bool(allow_unsigned))
        self.backend = backend
        self.versions_dir = self.root / "versions"
        self.current_link = self.root / "current"
        self.previous_link = self.root / "previous"
        self.state = StateFile(self.root / "state.json")
        self.state_path = self.state.path

    # -- reading -------------------------------------------------------------------------------

    def _version_dir(self, version: str) -> Path:
        """`versions/<version>`, refusing names that are not versions and folders made links."""
        if not is_version(version):
            raise StoreError(f"version {version!r} is not in the store {self.root}")
        path = self.versions_dir / version
        if path.is_symlink():
            raise StoreError(
                f"refusing {path}: a version folder that is a symbolic link (not made by the store)"
            )
        return path

    def _link_version(self, link: Path) -> str | None:
        try:
            target = Path(os.readlink(link))
        except OSError:
            return None
        if len(target.parts) != 2 or target.parts[0] != "versions" or not is_version(target.name):
            return None
        folder = self.versions_dir / target.name
        return target.name if folder.is_dir() and not folder.is_symlink() else None

    @property
    def active_version(self) -> str | None:
        return self._link_version(self.current_link)

    @property
    def previous_version(self) -> str | None:
        return self._link_version(self.previous_link)

    def card_path(self, version: str) -> Path:
        """The version's card: `<model>.json` beside its one `<model>.tflite`."""
        folder = self._version_dir(version)
        models = sorted(p for p in folder.glob("*.tflite") if not p.name.startswith("."))
        if len(models) != 1:
            raise StoreError(f"version {version} in {self.root} is damaged: {len(models)} model files, not 1")
        return models[0].with_suffix(".json")

    def package(self, version: str) -> ModelPackage:
        return ModelPackage.read(self.card_path(version))

    def active_model_path(self) -> Path | None:
        """The stable path the kiosk loads and watches: `<store>/current/<model>.json`. It goes
        through the `current` link, so it changes (atomically) when a new model is activated."""
        version = self.active_version
        if version is None:
            return None
        return self.current_link / self.card_path(version).name

    def versions(self) -> list[str]:
        """Installed versions, oldest first (PEP 440). Links and other names are not versions."""
        if not self.versions_dir.is_dir() or self.versions_dir.is_symlink():
            return []
        names = [
            p.name
            for p in self.versions_dir.iterdir()
            if is_version(p.name) and p.is_dir() and not p.is_symlink()
        ]
        return sorted(names, key=parse_version)

    def read_state(self) -> dict[str, Any]:
        return self.state.read()

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
            return self.package(version).card.data
        except DigitkioskError:
            return {}

    def status(self, check: bool = True) -> StoreStatus:
        """Active and previous version, the last self-test, the last error; with `check`, the
        active model is verified, loaded and self-tested now (the health check)."""
        state = self.read_state()
        active = self.active_version
        package, problem = None, f"no {self.kind.noun} installed"
        if active is not None:
            try:
                package = self.package(active)
            except DigitkioskError as e:
                problem = str(e)
        result = StoreStatus(
            store=str(self.root),
            kind=self.kind.name,
            active=active,
            previous=self.previous_version,
            model_path=str(self.current_link / package.card_path.name) if package else None,
            sha256=package.sha256 if package else None,
            card_sha256=package.card_sha256 if package else None,
            selftest=state.get("selftest"),
            last_error=state.get("last_error"),
            versions=self.versions(),
        )
        if active is not None and package is None:
            result.damaged = problem
        if check:
            try:
                if package is None:
                    raise StoreError(problem)
                loaded = self._load(package)
            except DigitkioskError as e:
                result.healthy = False
                result.check_error = str(e)
            else:
                result.healthy = True
                result.selftest = StateFile.selftest_record(active, loaded)
        return result

    # -- changing ------------------------------------------------------------------------------

    def _check_layout(self) -> None:
        """Refuse to work through anything the store did not make (it runs as root)."""
        kind_folder = (self.root,) if self.root != self.base else ()  # made by the store, as root
        for path in (*kind_folder, self.versions_dir, self.root / ".lock", self.state_path):
            if path.is_symlink():
                raise StoreError(
                    f"refusing the model store {self.root}: {path} is a symbolic link "
                    "(the store makes none there)"
                )
        if os.geteuid() == 0:
            for path in dict.fromkeys((self.base, self.root, self.versions_dir)):
                with contextlib.suppress(FileNotFoundError):
                    st = os.stat(path)
                    if st.st_uid != 0 or st.st_mode & 0o022:
                        raise StoreError(
                            f"refusing the model store {self.root}: {path} can be changed by users other "
                            "than root (chown root, chmod go-w)"
                        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One store operation at a time (two pushes racing to the same kiosk)."""
        try:
            if not self.root.exists():
                self.root.mkdir(parents=True, mode=0o755)
            self._check_layout()
            if not self.versions_dir.exists():
                self.versions_dir.mkdir(mode=0o755)
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise StoreError(f"cannot use the model store {self.root}: {e.strerror or e}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StoreError(f"refusing the model store {self.root}: .lock is not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def install(self, model: str | Path, *, allow_downgrade: bool = False) -> InstallResult:
        with self._locked():
            return self._recording("install", lambda: self._install(Path(model), allow_downgrade))

    def activate(self, version: str) -> InstallResult:
        with self._locked():
            return self._recording("activate", lambda: self._activate(version, action="activated"))

    def rollback(self) -> InstallResult:
        def rollback() -> InstallResult:
            previous = self.previous_version
            if previous is None:
                raise StoreError(f"nothing to roll back to: no previous version in {self.root}")
            return self._activate(previous, action="rolled back")

        with self._locked():
            return self._recording("rollback", rollback)

    def _recording(self, action: str, do) -> InstallResult:
        try:
            return do()
        except DigitkioskError as e:
            self.state.record_error(action, str(e), self.active_version)
            raise
        except OSError as e:  # a full disk, a read-only store: one line, not a traceback
            message = f"{action} failed in {self.root}: {e.strerror or e}"
            self.state.record_error(action, message, self.active_version)
            raise StoreError(message) from None

    def _install(self, model: Path, allow_downgrade: bool) -> InstallResult:
        package = ModelPackage.read(model)  # read once: these bytes are checked, copied and run
        package.verify(self.policy)
        version = package.card.version
        new = parse_version(version)
        for other in self.versions():
            if other != version and parse_version(other) == new:
                raise StoreError(f"version {version} is already installed as {other}: use that name")
        active = self.active_version
        folder = self._version_dir(version)
        damaged = None
        if folder.is_dir():
            try:
                existing = self.package(version)
            except (ModelError, StoreError) as e:
                damaged = str(e)
                log.warning("version %s in the store is damaged (%s): installing it again", version, e)
            else:
                if existing.card_bytes != package.card_bytes:
                    raise StoreError(
                        f"version {version} is already installed with different content: "
                        "give the new model a new version"
                    )
                if active == version:
                    log.info("version %s is already active: nothing to do", version)
                    return InstallResult("unchanged", version, self.previous_version, None)
        if active is not None and not allow_downgrade and is_version(active) and new < parse_version(active):
            raise DowngradeError(
                f"refusing to downgrade from {active} to {version} (use --allow-downgrade, "
                "or 'model rollback' / 'model activate')"
            )
        loaded = None
        if damaged is not None or not folder.is_dir():
            loaded = self._stage_version(package, folder)
        if damaged is not None and active == version:
            self._record_switch("repaired", version, active, loaded)
            return InstallResult("repaired", version, self.previous_version, StateFile.accuracy(loaded))
        return self._activate(version, action="installed", loaded=loaded)

    def _stage_version(self, package: ModelPackage, folder: Path) -> Any:
        """Write the files into a hidden directory, load and self-test them, then rename the
        directory into place (replacing a damaged one): `versions/<v>` exists only complete."""
        version = package.card.version
        staging = Path(tempfile.mkdtemp(prefix=f".incoming-{version}-", dir=self.versions_dir))
        old = None
        try:
            for name, data in package.files().items():
                with open(staging / name, "xb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            os.chmod(staging, 0o755)
            fsync_dir(staging)
            staged = ModelPackage.read(staging / package.card_path.name)  # what landed on disk
            if staged.identity != package.identity:
                raise StoreError(f"version {version} changed while it was copied into the store")
            loaded = self._load(package)  # trust (remembered), tensors, self-test
            if folder.is_dir():
                old = Path(tempfile.mkdtemp(prefix=f".damaged-{version}-", dir=self.versions_dir))
                os.rename(folder, old / "v")
            os.rename(staging, folder)
            fsync_dir(self.versions_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return loaded

    def _load(self, package: ModelPackage) -> Any:
        """Verified and self-tested as the device loads this kind of model (model_kinds.py)."""
        return self.kind.load(package, self.policy, backend=self.backend)

    def _activate(self, version: str, action: str, loaded: Any = None) -> InstallResult:
        folder = self._version_dir(version)
        if not folder.is_dir():
            raise StoreError(f"version {version!r} is not in the store {self.root}")
        active = self.active_version
        if active == version:
            return InstallResult("unchanged", version, self.previous_version, None)
        if loaded is None:  # check it again: a trusted key may have been revoked since
            loaded = self._load(self.package(version))
        if active is not None:
            self._switch_link(self.previous_link, active)
        self._switch_link(self.current_link, version)
        log.info("%s model %s (was %s)", action, version, active)
        self._record_switch(action, version, active, loaded)
        self._prune()
        return InstallResult(action, version, active, StateFile.accuracy(loaded))

    def _record_switch(self, action: str, version: str, previous: str | None, loaded: Any) -> None:
        state = self.read_state()
        state["selftest"] = StateFile.selftest_record(version, loaded)
        StateFile.append_history(state, action, version, previous)
        self.state.write(state)

    def _switch_link(self, link: Path, version: str) -> None:
        """Point `link` at `versions/<version>` atomically: new link under a temp name, rename."""
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(Path("versions") / version, tmp)  # relative: the store can be moved or mounted
        os.replace(tmp, link)
        fsync_dir(self.root)

    def _prune(self) -> None:
        """Remove old versions and leftovers: only real folders inside `versions/`, never through
        a link (shutil.rmtree removes links inside a folder, never what they point at)."""
        keep = {v for v in (self.active_version, self.previous_version) if v}
        others = [v for v in self.versions() if v not in keep]  # oldest first
        spare = max(0, KEEP_VERSIONS - len(keep))
        doomed = [self.versions_dir / v for v in others[: max(0, len(others) - spare)]]
        doomed += [p for p in self.versions_dir.iterdir() if p.name.startswith(LEFTOVERS)]
        for path in doomed:
            if path.is_symlink() or not path.is_dir() or path.parent != self.versions_dir:
                continue
            log.info("pruning %s", path.name)
            shutil.rmtree(path, ignore_errors=True)
