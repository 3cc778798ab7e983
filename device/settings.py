"""The device's settings, read once at the edge: flags, else environment, else defaults.

The CLI (and only the CLI) calls `Settings.resolve`; everything below it takes plain arguments
(a model path, a backend name, a thread count, a `TrustPolicy`, a store folder), so a library
call never changes behaviour with the caller's environment, and a bad value is refused here with
one line instead of surfacing as a traceback deep in the loader.

    DIGITKIOSK_MODEL           model .tflite or card (default: the bundled model)
    DIGITKIOSK_BACKEND         interpreter backend: auto, litert, tflite-runtime, tensorflow
    DIGITKIOSK_THREADS         interpreter threads (a whole number >= 1; default 1)
    DIGITKIOSK_TRUST_DIR       trusted public keys (default /etc/digitkiosk/trusted_keys)
    DIGITKIOSK_ALLOW_UNSIGNED  1/true/yes/on: development mode, unsigned models accepted
    DIGITKIOSK_STORE           the model store (default /var/lib/digitkiosk/models)
    DIGITKIOSK_SAMPLES         the corrections' sample store (kiosk: corrections off without it)
    DIGITKIOSK_KIOSK_ID        the name a new sample store records (default: the host name)
    DIGITKIOSK_LINE_MODEL      line model for fields (a card or .tflite; "off": fields are read
                               by segmentation only; default: the bundled linenet)
    DIGITKIOSK_STROKE_MODEL    stroke model for pen digits (a card or .tflite; "off": the digit
                               model reads them alone; default: the bundled strokenet)
    DIGITKIOSK_PAPER_MODEL     paper model for pictures (a card or .tflite; "off": the digit
                               model reads them alone; default: the bundled papernet)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

ENV_MODEL = "DIGITKIOSK_MODEL"
ENV_BACKEND = "DIGITKIOSK_BACKEND"
ENV_THREADS = "DIGITKIOSK_THREADS"
ENV_TRUST_DIR = "DIGITKIOSK_TRUST_DIR"
ENV_ALLOW_UNSIGNED = "DIGITKIOSK_ALLOW_UNSIGNED"
ENV_STORE = "DIGITKIOSK_STORE"
ENV_LINE_MODEL = "DIGITKIOSK_LINE_MODEL"
ENV_SAMPLES = "DIGITKIOSK_SAMPLES"
ENV_KIOSK_ID = "DIGITKIOSK_KIOSK_ID"
ENV_STROKE_MODEL = "DIGITKIOSK_STROKE_MODEL"
ENV_PAPER_MODEL = "DIGITKIOSK_PAPER_MODEL"
#: Every variable the device reads (the tests clear them, so a developer's shell cannot change results).
ENV_VARS = (
    ENV_MODEL,
    ENV_BACKEND,
    ENV_THREADS,
    ENV_TRUST_DIR,
    ENV_ALLOW_UNSIGNED,
    ENV_STORE,
    ENV_LINE_MODEL,
    ENV_SAMPLES,
    ENV_KIOSK_ID,
    ENV_STROKE_MODEL,
    ENV_PAPER_MODEL,
)
MODEL_OFF = ("off", "none", "0")  # a line, stroke or paper model setting that turns it off

DEFAULT_TRUST_DIR = Path("/etc/digitkiosk/trusted_keys")
DEFAULT_STORE = Path("/var/lib/digitkiosk/models")
MAX_THREADS = 64
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    model: Path | None = None  # None: the bundled model
    backend: str = "auto"
    threads: int = 1
    trust_dir: Path = DEFAULT_TRUST_DIR
    allow_unsigned: bool = False
    store: Path = DEFAULT_STORE
    line_model: Path | None = None  # None: the bundled line model for fields
    fields_by_line_model: bool = True  # False: DIGITKIOSK_LINE_MODEL=off
    stroke_model: Path | None = None  # None: the bundled stroke model for pen digits
    pen_by_stroke_model: bool = True  # False: DIGITKIOSK_STROKE_MODEL=off
    paper_model: Path | None = None  # None: the bundled paper model for pictures
    pictures_by_paper_model: bool = True  # False: DIGITKIOSK_PAPER_MODEL=off
    samples: Path | None = None  # the corrections' sample store (None: none named)
    kiosk_id: str | None = None  # the name a new sample store records (None: the host name)

    @classmethod
    def resolve(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        model: str | Path | None = None,
        backend: str | None = None,
        threads: int | None = None,
        trust_dir: str | Path | None = None,
        allow_unsigned: bool | None = None,
        store: str | Path | None = None,
        samples: str | Path | None = None,
    ) -> Settings:
        """Each setting from its flag (not None), else its environment variable, else the
        default. Raises InputError naming the flag or variable whose value is unusable."""
        env = os.environ if environ is None else environ
        model = model or env.get(ENV_MODEL) or None
        if threads is None:
            threads = _whole(env.get(ENV_THREADS, "").strip() or "1", ENV_THREADS)
        elif not 1 <= threads <= MAX_THREADS:
            raise InputError(f"--threads must be a whole number from 1 to {MAX_THREADS} (got {threads})")
        if allow_unsigned is None:
            allow_unsigned = _flag(env.get(ENV_ALLOW_UNSIGNED, ""), ENV_ALLOW_UNSIGNED)
        line = env.get(ENV_LINE_MODEL, "").strip()
        line_off = line.lower() in MODEL_OFF
        pen = env.get(ENV_STROKE_MODEL, "").strip()
        pen_off = pen.lower() in MODEL_OFF
        paper = env.get(ENV_PAPER_MODEL, "").strip()
        paper_off = paper.lower() in MODEL_OFF
        samples = samples or env.get(ENV_SAMPLES) or None
        return cls(
            samples=Path(samples) if samples else None,
            kiosk_id=env.get(ENV_KIOSK_ID, "").strip() or None,
            line_model=Path(line) if line and not line_off else None,
            fields_by_line_model=not line_off,
            stroke_model=Path(pen) if pen and not pen_off else None,
            pen_by_stroke_model=not pen_off,
            paper_model=Path(paper) if paper and not paper_off else None,
            pictures_by_paper_model=not paper_off,
            model=Path(model) if model else None,
            backend=(backend or env.get(ENV_BACKEND) or "auto").strip().lower(),
            threads=threads,
            trust_dir=Path(trust_dir or env.get(ENV_TRUST_DIR) or DEFAULT_TRUST_DIR),
            allow_unsigned=allow_unsigned,
            store=Path(store or env.get(ENV_STORE) or DEFAULT_STORE),
        )

    def policy(self):
        """The trust policy these settings describe (package.TrustPolicy)."""
        from .package import TrustPolicy  # lazy: the CLI imports settings at start-up

        return TrustPolicy(self.trust_dir, self.allow_unsigned)


def _whole(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{name} must be a whole number from 1 to {MAX_THREADS} (got {text!r})") from None
    if not 1 <= value <= MAX_THREADS:
        raise InputError(f"{name} must be a whole number from 1 to {MAX_THREADS} (got {text!r})")
    return value


def _flag(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    # Before, anything else silently meant "no"; a typo in a security switch deserves a word.
    raise InputError(f"{name} must be 1/true/yes/on or 0/false/no/off (got {text!r})")
