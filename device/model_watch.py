"""Hot reload: notice when the model on disk changes (a new model was flashed) and swap it in.

Shared by the kiosk and the camera. A background thread polls the model path about once a
second. What counts as "changed" is the fingerprint of the .json card, the .tflite and the
signature (resolved path, inode, mtime, size), so a model store that flips a `current` symlink is
noticed as well as a file copied over in place. A changed model is loaded through the verified
path (`loader.load_model`) under the same trust policy as the first one; if it is refused
(unsigned, unknown key, tampered...) the recognizer keeps the model it has and the owner gets a
notice. The watcher never touches a GUI: `on_change` is called on the watcher thread, so a Tk
owner must hand the change over to its UI thread (e.g. through a queue).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import DigitkioskError
from .loader import LoadedModel, default_model_path, load_model
from .modelcard import card_path_for
from .package import MODEL_SUFFIX, TrustPolicy
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
    model: LoadedModel | None = None


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
        path: str | Path | None = None,
        *,
        backend: str | None = None,
        num_threads: int | None = None,
        interval: float = DEFAULT_INTERVAL_S,
        on_change: Callable[[ModelChange], None] | None = None,
        loader: Callable[..., LoadedModel] = load_model,
        policy: TrustPolicy | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.path = Path(path) if path is not None else default_model_path()
        self.backend = backend
        self.num_threads = num_threads
        self.interval = interval
        self.on_change = on_change
        self._load = loader
        self.policy = policy or TrustPolicy()
        self._current = fingerprint(self.path)  # what the recognizer's model was loaded from
        self._pending: Fingerprint | None = None  # a change seen once, waiting to hold still
        self._reported: Fingerprint | None = None  # the last fingerprint a notice was sent for
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        now = fingerprint(self.path)
        if now == self._current:
            self._pending = None
            if self._reported is None:
                return None
            # A problem was reported and the files are back exactly as loaded (e.g. restored
            # with their times preserved): nothing to reload, but the notice is out of date.
            self._reported = None
            change = ModelChange(
                "restored", f"model files are back; using {self._describe(self.recognizer.model)}"
            )
            self._notify(change)
            return change
        if now != self._pending:
            self._pending = now  # changed since the last look: wait until it holds still
            return None
        self._pending = None
        if now == self._reported:
            return None  # already told the owner about exactly this state
        change = self._reload(now)
        if change is not None:
            # Remember a problem we told about, so it is told once, not at every poll.
            self._reported = None if change.kind == "reloaded" else now
            self._notify(change)
        return change

    def _reload(self, now: Fingerprint) -> ModelChange | None:
        keeping = self._describe(self.recognizer.model)
        if now[0] is None or now[1] is None:
            what = "model card" if now[0] is None else "model file"
            return ModelChange("missing", f"{what} disappeared from {self.path}; still using {keeping}")
        try:
            model = self._load(
                self.path, backend=self.backend, num_threads=self.num_threads, policy=self.policy
            )
        except DigitkioskError as e:
            log.warning("new model at %s refused: %s", self.path, e)
            return ModelChange("refused", f"new model refused ({e}); still using {keeping}")
        if fingerprint(self.path) != now:
            return None  # it changed again while loading: look again at the next poll
        self.recognizer.swap_model(model)
        self._current = now
        log.info("model reloaded: %s", self._describe(model))
        return ModelChange("reloaded", f"model updated to {self._describe(model)}", model)

    @staticmethod
    def _describe(model: LoadedModel) -> str:
        return f"{model.card.name} {model.card.version}"

    def _notify(self, change: ModelChange) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(change)
        except Exception:
            log.exception("model change callback failed")
