"""The kiosk's look in one place: colours and fonts (sizes are in UI units, `unit` pixels: one
line of UI, so touch targets scale with the screen)."""

from __future__ import annotations

FONT = "DejaVu Sans"

BG = "#14202b"
PANEL_BG = "#1d2d3b"
CANVAS_BG = "#fbfbf8"
INK = "#101418"
HINT = "#b9c0c6"
TEXT = "#f2f4f5"
DIM = "#8fa3b3"
UNSURE_FG = "#ffb347"
BAR = "#4f7ea8"
BAR_TOP = "#7fd48a"
BUTTON_FG = "white"
BUTTON_ACTIVE = "#3c5a75"
CLEAR_BG = "#c0504d"
UNDO_BG = "#34495e"
TOGGLE_BG = "#2b3e50"


def font(unit: float, scale: float = 1.0, bold: bool = False) -> tuple:
    """A Tk font `scale` units high (negative size: pixels, not points)."""
    size = -max(1, int(unit * scale))
    return (FONT, size, "bold") if bold else (FONT, size)
