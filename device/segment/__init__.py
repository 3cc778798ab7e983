"""Image → digits: the segmentation shared by `digitkiosk predict` and the camera.

One code path for photos, scans and camera frames, one module per stage:

1. `ink`: grayscale, light denoise, a downscaled copy when the image is large; ink polarity from
   a polarity-neutral local background; background by morphological closing (opening for light
   ink) on a small copy, so uneven light and soft shadows are subtracted out; threshold above the
   noise floor, and next to ink relative to that ink's own strength (faint thin strokes stay
   whole). A small picture is a *field* cut out of a page (a cheque's amount box): paper is added
   around it (its digits touch its edges) and its ink is found by Sauvola's local threshold;
2. `borders`: long straight lines (underlines, box borders, a field's printed baseline) erased
   (the line only: not the base of a wide 2, not the digit touching it);
3. `marks`: connected components → candidate digits: specks dropped, fragments of one digit
   merged (the hat of a 5, a broken stroke), a mark that may be digits touching each other
   offered cut as well, and a field's wide marks over-segmented into candidate digits (the
   recognizer picks the cut, or the best path, by reading them: `Recognizer.read_segmentation`);
4. `layout`: digits grouped into lines (top to bottom), ordered left to right, gaps turned into
   separators; a field's marks much smaller than its digits flagged (commas, dashes);
5. `digit`: each digit's grey ink (or, for hairline strokes, its mask rebuilt at a canonical size
   with an MNIST-like stroke width) prepared by `mnist_prep.fit_to_mnist` (the one MNIST recipe);
   `single_digit` for a crop holding one digit.

`find` puts them together (`find_digits`); `base` holds what they share.
"""

from __future__ import annotations

from ..mnist_prep import fit_to_mnist
from .base import FoundDigit, Segmentation, _components, to_gray
from .borders import _remove_lines
from .digit import prepare_digit, single_digit
from .find import _field_padding, find_digits
from .marks import _blobs

__all__ = [
    "FoundDigit",
    "Segmentation",
    "_blobs",
    "_components",
    "_field_padding",
    "_remove_lines",
    "find_digits",
    "fit_to_mnist",
    "prepare_digit",
    "single_digit",
    "to_gray",
]
