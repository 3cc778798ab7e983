"""Drawing a frame's result: a box and the recognized digit over each digit found.

Pure numpy/OpenCV (the headless build has drawing functions, only no windows), so the Tk view
and any tool that saves annotated frames draw the same thing.
"""

from __future__ import annotations

import cv2
import numpy as np

from .pipeline import FrameResult

SURE = (60, 200, 60)  # BGR
UNSURE = (0, 160, 255)


def annotate(
    image: np.ndarray,
    result: FrameResult | None,
    threshold_view: bool = False,
    roi: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """A BGR copy of `image` (or of the thresholded mask) with boxes and digits drawn."""
    if threshold_view and result is not None and result.segmentation.mask is not None:
        out = cv2.cvtColor(result.segmentation.mask, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 2:
        out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    else:
        out = image.copy()
    h = out.shape[0]
    thick = max(1, round(h / 240))
    if roi is not None:
        x, y, w, hh = roi
        cv2.rectangle(out, (x, y), (x + w, y + hh), (200, 200, 0), thick)
    if result is None or result.reading is None:
        return out
    for d in result.reading.digits:
        if d.box is None:
            continue
        x, y, w, hh = (round(v) for v in d.box)
        colour = SURE if d.digit is not None else UNSURE
        cv2.rectangle(out, (x, y), (x + w, y + hh), colour, thick)
        label = d.label
        scale = max(0.5, hh / 60)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick + 1)
        ty = y - 4 if y - th - 6 > 0 else y + hh + th + 4
        cv2.rectangle(out, (x, ty - th - 3), (x + tw + 4, ty + base - 1), colour, -1)
        cv2.putText(
            out, label, (x + 2, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 1, cv2.LINE_AA
        )
    return out
