"""Hot reload: notice when the model on disk changes (a new model was flashed) and swap it in.

Shared by the kiosk and the camera. A background thread polls the model path about once a
second. What counts as "changed" is the fingerprint of the .json card, the .tflite and the
signature (resolved path, inode, mtime, size), so a model store that flips a `current` symlink is
noticed as well as a file copied over in place. A changed model is loaded through the verified
path (`loader.load_model`) under the same trust policy as the first one; if it is refused
(unsigned, unknown key, tampered...) the recognizer keeps the model it has and the owner gets a
notice. The watcher never touches a GUI: `on_change` is called on the watcher thread, so a Tk
owner must hand the change over to its UI thread (e.g. through a queue).

One watcher watches one kind of model (model_kinds.py): the digit model, or a companion the
recognizer reads with (the stroke model, the paper model), loaded with that kind's own loader and
swapped into the recognizer's slot for it. The watched path may be a function, asked at every
poll: a companion read from the bundled package until one is installed in the store then follows
the store's `current` link from the first install on (`companion_path`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DigitkioskError
from .loader import default_model_path
from .model_kinds import DEFAULT_KIND, installed_card, model_kind
from .modelcard import card_path_for
from .package import MODEL_SUFFIX, ModelPackage, TrustPolicy
from .recognizer import Recognizer
from .signing import signature_path_for

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0

# (resolved path, inode, mtime_ns, size) per file; None for a file that is not there.
FileStamp = tuple[str, int, int, int] | None
Fingerprint = tuple[FileStamp, FileStamp, FileStamp]


@dataclass(frozen=True)
class ModelChange:
    """What happened to the model on disk.

    kind: "reloaded" (the new model is in use), "refused" (the new model failed verification;
    the old one is still in use), "missing" (the file or card disappeared; the old model is still
    in use), "restored" (after "missing" or "refused", the files are back exactly as they were
    when the model in use was loaded).
    """

    kind: str
    message: str
    model: Any = None  # the new model: a LoadedModel, or a companion (PaperModel, StrokeModel...)


def _stamp(path: Path) -> FileStamp:
    try:
        real = path.resolve()
        st = os.stat(real)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return None
    return (str(real), st.st_ino, st.st_mtime_ns, st.st_size)


def fingerprint(path: str | Path) -> Fingerprint:
    """Stamps of the card, its model (`<model>.json` names `<model>.tflite`) and its signature
    (symlinks resolved): signing a refused model is a change too."""
    card = card_path_for(path)
    return (_stamp(card), _stamp(card.with_suffix(MODEL_SUFFIX)), _stamp(signature_path_for(card)))


class ModelWatcher:
    """Polls a model path and swaps a verified new model into `recognizer` when it changes.

    A change must hold still for one poll before it is loaded, so a model being copied in is not
    tried half-written (which would only produce a spurious "refused" notice).
    """

    def __init__(
        self,
        recognizer: Recognizer,
        path: str | Path | Callable[[], Path] | None = None,
        *,
        backend: str | None = None,
        num_threads: int | None = None,
        interval: float = DEFAULT_INTERVAL_S,
        on_change: Callable[[ModelChange], None] | None = None,
        loader: Callable[..., Any] | None = None,
        policy: TrustPolicy | None = None,
        kind: str = DEFAULT_KIND,
    ) -> None:
        """`kind`: which of the recognizer's models this watches (`digit`: `recognizer.model`;
        else `recognizer.<kind>_model`), loaded with `loader` (default: `load_kind(kind)`, for the
        digit model what `loader.load_model` does)."""
        self.recognizer = recognizer
        self._kind = model_kind(kind)
        self.kind = self._kind.name
        if callable(path):
            self._where = path
        else:
            fixed = Path(path) if path is not None else default_model_path()
            self._where = lambda: fixed
        self.backend = backend
        self.num_threads = num_threads
        self.interval = interval
        self.on_change = on_change
        self._load = loader or load_kind(self.kind)
        self.policy = policy or TrustPolicy()
        self._current = fingerprint(self.path)  # what the recognizer's model was loaded from
        self._pending: Fingerprint | None = None  # a change seen once, waiting to hold still
        self._reported: Fingerprint | None = None  # the last fingerprint a notice was sent for
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        """The model's path now (a function's answer may change between polls)."""
        return self._where()

    @property
    def model(self) -> Any:
        """The model in use for this kind."""
        if self.kind == DEFAULT_KIND:
            return self.recognizer.model
        return getattr(self.recognizer, f"{self.kind}_model")

    def _swap(self, model: Any) -> None:
        if self.kind == DEFAULT_KIND:
            self.recognizer.swap_model(model)
        else:
            self.recognizer.swap_companion(self.kind, model)

    def start(self) -> ModelWatcher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="model-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # never let the watcher die silently: log and keep watching
                log.exception("model watcher poll failed")

    def poll(self) -> ModelChange | None:
        """One check (the thread calls this; tests may call it directly). Returns what happened."""
        path = self.path
        now = fingerprint(path)
        if now == self._current:
            self._pending = None
            if self._reported is None:
                return None
            # A problem was reported and the files are back exactly as loaded (e.g. restored
            # with their times preserved): nothing to reload, but the notice is out of date.
            self._reported = None
            using = self._describe(self.model)
            change = ModelChange("restored", f"{self._what} files are back; using {using}")
            self._notify(change)
            return change
        if now != self._pending:
            self._pending = now  # changed since the last look: wait until it holds still
            return None
        self._pending = None
        if now == self._reported:
            return None  # already told the owner about exactly this state
        change = self._reload(now, path)
        if change is not None:
            # Remember a problem we told about, so it is told once, not at every poll.
            self._reported = None if change.kind == "reloaded" else now
            self._notify(change)
        return change

    @property
    def _what(self) -> str:
        return self._kind.noun

    def _reload(self, now: Fingerprint, path: Path) -> ModelChange | None:
        keeping = self._describe(self.model)
        if now[0] is None or now[1] is None:
            what = f"{self._what} {'card' if now[0] is None else 'file'}"  # "paper model card"...
            return ModelChange("missing", f"{what} disappeared from {path}; still using {keeping}")
        try:
            model = self._load(path, backend=self.backend, num_threads=self.num_threads, policy=self.policy)
        except DigitkioskError as e:
            log.warning("new %s at %s refused: %s", self._what, path, e)
            return ModelChange("refused", f"new {self._what} refused ({e}); still using {keeping}")
        if fingerprint(path) != now:
            return None  # it changed again while loading: look again at the next poll
        self._swap(model)
        self._current = now
        log.info("%s reloaded: %s", self._what, self._describe(model))
        return ModelChange("reloaded", f"{self._what} updated to {self._describe(model)}", model)

    @staticmethod
    def _describe(model: Any) -> str:
        return "none" if model is None else f"{model.card.name} {model.card.version}"

    def _notify(self, change: ModelChange) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(change)
        except Exception:
            log.exception("model change callback failed")


def load_kind(kind: str) -> Callable[..., Any]:
    """A loader of `kind` models from a path, with `load_model`'s arguments (for a watcher)."""
    of_kind = model_kind(kind)

    def load(path, *, backend=None, num_threads=None, policy=None):
        package = ModelPackage.read(path)
        return of_kind.load(package, policy or TrustPolicy(), backend=backend, num_threads=num_threads)

    return load


def companion_path(store: Path, kind: str, named: Path | None, bundled: Path) -> Callable[[], Path]:
    """Where the recognizer's `kind` model is, asked at every poll: the one a setting named, else
    the one installed in the store (through its `current` link), else the bundled one, as
    `commands.common.open_recognizer` chose it at start."""
    if named is not None:
        return lambda: named
    return lambda: installed_card(store, kind) or bundled


class ModelWatchers(list):
    """The watchers of every kind of model a recognizer reads with, started and stopped together."""

    def start(self) -> ModelWatchers:
        for watcher in self:
            watcher.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        for watcher in self:
            watcher.stop(timeout)

    def __enter__(self) -> ModelWatchers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def watch_models(recognizer: Recognizer, where: dict[str, Any], **options: Any) -> ModelWatchers:
    """One watcher per kind of model the recognizer reads with: `where` maps each kind ("digit",
    "paper"...) to its path or path function; `options` are ModelWatcher's (interval, policy...)."""
    return ModelWatchers(ModelWatcher(recognizer, path, kind=kind, **options) for kind, path in where.items())
