"""Camera mode reached from the kiosk: the Camera button opens the camera view on a real video
file of real MNIST digits on paper, and its readings land in the kiosk's event log."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.kiosk.kiosk_driver import Kiosk, xdotool

pytestmark = pytest.mark.display  # a real X server (Xvfb) and xdotool


def _center(rect: dict) -> tuple[int, int]:
    return rect["x"] + rect["width"] // 2, rect["y"] + rect["height"] // 2


def _video(path, mnist_test, indices) -> str:
    x, y = mnist_test
    page = np.full((480, 640), 230, np.uint8)
    for i, idx in enumerate(indices):
        d = cv2.resize(x[idx], (100, 100))
        region = page[190:290, 180 + i * 80 : 280 + i * 80]  # one number: digits close together
        np.minimum(region, 230 - (d.astype(np.int32) * 200 // 255).astype(np.uint8), out=region)
    frame = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for _ in range(150):  # 10 s of a static scene
        writer.write(frame)
    writer.release()
    return "".join(str(y[i]) for i in indices)


def test_camera_button_reads_a_video(xdisplay, tmp_path, mnist_test):
    clip = tmp_path / "paper.avi"
    expected = _video(clip, mnist_test, [0, 1, 2])  # MNIST test digits 7 2 1
    k = Kiosk(tmp_path / "events.jsonl", "--windowed", "--camera", str(clip))
    try:
        xdotool([f"mousemove {' '.join(map(str, _center(k.ready['controls']['camera'])))}", "click 1"])
        assert k.wait_for(lambda e: e["event"] == "camera_opened", timeout=10)
        reading = k.wait_for(lambda e: e["event"] == "reading" and e.get("mode") == "camera", timeout=20)
        assert reading["text"] == expected
        assert k.proc.poll() is None
    finally:
        k.stop()
