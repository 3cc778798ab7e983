"""Fixtures for the camera and image-segmentation tests: banks of real handwritten digits and
video clips written with OpenCV from pictures composed of them (see digitkiosk/train/scenes.py)."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from digitkiosk.device.mnist_prep import fit_to_mnist
from digitkiosk.device.strokes import parse_strokes, strokes_to_mnist
from digitkiosk.train.clips import write_clip
from digitkiosk.train.glyphs import GlyphBank
from digitkiosk.train.photo import random_look
from digitkiosk.train.scenes import make_scene


@pytest.fixture(scope="session")
def mnist_bank(mnist_test, recognizer) -> GlyphBank:
    """MNIST test digits that the model reads correctly and surely when presented clean.

    The camera tests measure what the camera path (photo, segmentation, preparation) loses, not
    the model's own errors, which the model card reports; digits the model cannot read even
    clean would only add the model's error rate to every figure here."""
    images, labels = mnist_test[0][:3000], mnist_test[1][:3000]
    readings = recognizer.classify(np.stack([fit_to_mnist(i) for i in images]))
    keep = np.array([r.digit == int(lab) for r, lab in zip(readings, labels, strict=True)])
    return GlyphBank(mnist=(images[keep], labels[keep]))


@pytest.fixture(scope="session")
def pen_bank(pendigits_train, recognizer) -> GlyphBank:
    """Real pen digits drawn with a thin pen (stroke 4% of the digit), read surely when clean."""
    records = pendigits_train[:2500]
    readings = recognizer.classify(np.stack([strokes_to_mnist(parse_strokes(r["strokes"])) for r in records]))
    kept = [r for r, reading in zip(records, readings, strict=True) if reading.digit == r["label"]]
    return GlyphBank(pen=kept, pen_width_ratio=0.04)


@pytest.fixture(scope="session")
def static_clip(tmp_path_factory, mnist_bank, pen_bank) -> tuple[Path, list[str]]:
    """An MJPG clip of six static scenes (MNIST and pen digits, dark-on-light and light-on-dark,
    uneven light, a shadow, perspective, blur, noise, underline, box, specks), 15 frames each."""
    rng = np.random.default_rng(2024)
    scenes = []
    for i in range(6):
        bank = mnist_bank if i % 2 == 0 else pen_bank
        scenes.append(make_scene(bank, rng, look=random_look(rng, dark_ink=i < 3)))
    path = tmp_path_factory.mktemp("clips") / "static.avi"
    write_clip(str(path), scenes, 15, rng)
    return path, [s.text for s, _ in scenes]


class _NetworkCamera(http.server.ThreadingHTTPServer):
    """A network camera on 127.0.0.1 that serves a clip over HTTP. It streams the clip over
    `seconds` (about 1.5 times its frame rate), as a camera delivers frames over time; served
    all at once, nearly every frame would be stale by the time it is read. It answers 503 to
    the requests whose numbers (1-based) are in `down`: a camera that drops off the network and
    comes back."""

    daemon_threads = True

    def __init__(self, clip: bytes, seconds: float) -> None:
        super().__init__(("127.0.0.1", 0), _NetworkCameraHandler)
        self.clip, self.seconds = clip, seconds
        self.requests = 0
        self.down: set[int] = set()


class _NetworkCameraHandler(http.server.BaseHTTPRequestHandler):
    server: _NetworkCamera

    def do_GET(self) -> None:
        camera = self.server
        camera.requests += 1
        if camera.requests in camera.down:
            self.send_error(503, "camera restarting")
            return
        self.send_response(200)
        self.send_header("Content-Type", "video/x-msvideo")
        self.send_header("Content-Length", str(len(camera.clip)))
        self.end_headers()
        chunk = 32 * 1024
        pause = camera.seconds * chunk / len(camera.clip)
        try:
            for i in range(0, len(camera.clip), chunk):
                self.wfile.write(camera.clip[i : i + chunk])
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader went away

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def stream_server(static_clip):
    """A network camera streaming the static clip (90 frames) over ~2 s; yields (url, server).
    Set `server.down` to the request numbers that fail."""
    clip, _ = static_clip
    server = _NetworkCamera(clip.read_bytes(), seconds=2.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{clip.name}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def orand_scans(shared_data) -> list[tuple[Path, str, list[tuple[list[float], int]]]]:
    """Real scanned cheque amounts (ORAND-CAR-A, ../shared/data/orand_car_a): (path, amount,
    [(box [x, y, w, h], digit), ...] left to right) for every image, validation part first (the
    fixed split of digitkiosk.train.splits), each part sorted by file name."""
    from digitkiosk.train.sources import scan_amounts
    from digitkiosk.train.splits import is_validation_scan

    # A stable sort: file-name order within each part.
    return sorted(scan_amounts(shared_data / "orand_car_a"), key=lambda s: not is_validation_scan(s[0].name))


@pytest.fixture(scope="session")
def read_amounts():
    """recognizer, scans → (digits right as a fraction, amounts exactly right as a count), each
    scan read whole through `Recognizer.read_image` (what `predict` does with a picture)."""
    import cv2
    from digitkiosk.device.errors import NothingToReadError
    from digitkiosk.train.amounts import digits_right

    def read(recognizer, scans) -> tuple[float, int]:
        right = total = exact = 0
        for path, amount, _ in scans:
            gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            try:
                text = "".join(recognizer.read_image(gray).text.split())
            except NothingToReadError:
                text = ""
            right += digits_right(text, amount)
            total += len(amount)
            exact += text == amount
        return right / total, exact

    return read


@pytest.fixture(scope="session")
def line_model():
    """The bundled line model (models/linenet.tflite), through the verified path."""
    from digitkiosk.device.line_reader import default_line_model_path, load_line_model

    path = default_line_model_path()
    assert path is not None and path.is_file(), "the bundled line model (models/linenet.tflite) is missing"
    return load_line_model(path)
