"""The kiosk's widgets: the drawing canvas, the answer panel (big answer, caption, probability
bars, what the model saw), the buttons and the status line; and drawing on them.

No decisions here: `app.py` says what to show (a `controller.Presentation`, ink paths, a status
text), this module only knows how it looks. Everything runs on the Tk thread.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable

import numpy as np

from . import theme
from .controller import IDLE_PRESENTATION, Presentation

WINDOWED_FRACTION = 0.8  # --windowed: a window this fraction of the screen
SEEN_IMAGES = 6  # "Show what the model sees": at most this many digits


class KioskScreen:
    def __init__(
        self,
        root: tk.Tk,
        fullscreen: bool,
        *,
        on_clear: Callable[[], None],
        on_undo: Callable[[], None],
        on_camera: Callable[[], None] | None = None,
    ) -> None:
        self.root = root
        self.size = (root.winfo_screenwidth(), root.winfo_screenheight())
        self.fullscreen = fullscreen
        self.show_seen = tk.BooleanVar(value=False)
        self._photos: list[tk.PhotoImage] = []
        self._shown = IDLE_PRESENTATION
        self._build(on_clear, on_undo, on_camera)
        self.apply_fullscreen(fullscreen)

    # -- building -------------------------------------------------------------------------------
    def _build(self, on_clear: Callable, on_undo: Callable, on_camera: Callable | None) -> None:
        root = self.root
        sw, sh = self.size
        if not self.fullscreen:
            sw, sh = int(sw * WINDOWED_FRACTION), int(sh * WINDOWED_FRACTION)  # size the UI to the window
        root.title("digitkiosk")
        root.configure(bg=theme.BG)
        self.unit = unit = max(8, sh // 40)  # one "line" of UI: touch targets are multiples of it
        panel_w = max(300, int(sw * 0.3))
        big_px = max(48, int(sh * 0.16))
        ui_font = theme.font(unit)

        root.rowconfigure(0, weight=1)
        root.columnconfigure(0, weight=1)
        self.canvas = tk.Canvas(root, bg=theme.CANVAS_BG, highlightthickness=0, bd=0)
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.hint = self.canvas.create_text(
            10, 10, text="Write a digit or a number here", fill=theme.HINT, font=theme.font(unit, 1.4)
        )

        panel = tk.Frame(root, bg=theme.PANEL_BG, width=panel_w)
        panel.grid(row=0, column=1, sticky="ns")
        panel.grid_propagate(False)
        panel.columnconfigure(0, weight=1)
        self.big = tk.Label(
            panel, text="", font=theme.font(big_px, bold=True), fg=theme.TEXT, bg=theme.PANEL_BG
        )
        self.big.grid(row=0, column=0, sticky="ew", pady=(unit, 0))
        self.caption = tk.Label(
            panel,
            text=IDLE_PRESENTATION.caption,
            font=ui_font,
            fg=theme.DIM,
            bg=theme.PANEL_BG,
            wraplength=panel_w - 2 * unit,
        )
        self.caption.grid(row=1, column=0, sticky="ew", padx=unit)
        self.bars_w, self.bars_h = panel_w - 2 * unit, int(sh * 0.15)
        self.bars = tk.Canvas(
            panel, width=self.bars_w, height=self.bars_h, bg=theme.PANEL_BG, highlightthickness=0
        )
        self.bars.grid(row=2, column=0, pady=unit)
        self._build_bars()
        self.bars_label = tk.Label(panel, text="", font=ui_font, fg=theme.DIM, bg=theme.PANEL_BG)
        self.bars_label.grid(row=3, column=0)
        self.seen = tk.Frame(panel, bg=theme.PANEL_BG)
        self.seen.grid(row=4, column=0, pady=(unit // 2, 0))
        panel.rowconfigure(5, weight=1)

        buttons = tk.Frame(panel, bg=theme.PANEL_BG)
        buttons.grid(row=6, column=0, sticky="ew", padx=unit, pady=unit)
        buttons.columnconfigure((0, 1), weight=1, uniform="b")
        style = {
            "font": theme.font(unit, bold=True),
            "fg": theme.BUTTON_FG,
            "bd": 0,
            "relief": "flat",
            "activebackground": theme.BUTTON_ACTIVE,
            "pady": unit,
        }
        self.clear_button = tk.Button(buttons, text="Clear", bg=theme.CLEAR_BG, command=on_clear, **style)
        self.clear_button.grid(row=0, column=0, sticky="ew", padx=(0, unit // 2))
        self.undo_button = tk.Button(buttons, text="Undo stroke", bg=theme.UNDO_BG, command=on_undo, **style)
        self.undo_button.grid(row=0, column=1, sticky="ew", padx=(unit // 2, 0))
        small = {**style, "font": ui_font, "pady": unit // 2}
        # Kept for controls that front ends add to the grid (the Wrong? button of corrections).
        self.panel, self.buttons, self.small_style = panel, buttons, small
        self.extra_controls: dict[str, tk.Widget] = {}
        self.seen_button = tk.Checkbutton(
            buttons,
            text="Show what the model sees",
            variable=self.show_seen,
            indicatoron=False,
            command=self.refresh_seen,
            bg=theme.TOGGLE_BG,
            selectcolor=theme.BUTTON_ACTIVE,
            **small,
        )
        self.seen_button.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(unit // 2, 0))
        self.camera_button: tk.Button | None = None
        if on_camera is not None:
            self.camera_button = tk.Button(
                buttons, text="Camera", bg=theme.TOGGLE_BG, command=on_camera, **small
            )
            self.camera_button.grid(row=2, column=0, columnspan=2, sticky="ew", pady=(unit // 2, 0))

        self.status = tk.Label(
            root, text="", anchor="w", font=theme.font(unit, 0.8), fg=theme.DIM, bg=theme.BG
        )
        self.status.grid(row=1, column=0, columnspan=2, sticky="ew", padx=unit // 2)

    def _build_bars(self) -> None:
        slot = self.bars_w / 10
        label_h = self.unit * 1.4
        self._bar_bottom = self.bars_h - label_h
        self._bar_items = []
        for d in range(10):
            x0 = d * slot + slot * 0.15
            x1 = (d + 1) * slot - slot * 0.15
            item = self.bars.create_rectangle(
                x0, self._bar_bottom, x1, self._bar_bottom, fill=theme.BAR, width=0
            )
            self.bars.create_text(
                (x0 + x1) / 2,
                self.bars_h - label_h / 2,
                text=str(d),
                fill=theme.DIM,
                font=theme.font(self.unit),
            )
            self._bar_items.append((item, x0, x1))

    def apply_fullscreen(self, fullscreen: bool) -> None:
        self.fullscreen = fullscreen
        sw, sh = self.size
        if fullscreen:
            # Geometry first: with no window manager (a bare X kiosk session) -fullscreen is not
            # honoured, and a borderless screen-sized window at 0,0 is the fullscreen there.
            self.root.geometry(f"{sw}x{sh}+0+0")
            self.root.attributes("-fullscreen", True)
            self.root.configure(cursor="none")  # children inherit it: no pointer on a touch kiosk
        else:
            self.root.attributes("-fullscreen", False)
            w, h = int(sw * WINDOWED_FRACTION), int(sh * WINDOWED_FRACTION)
            self.root.geometry(f"{w}x{h}+{sw // 20}+{sh // 20}")
            self.root.configure(cursor="")

    # -- ink ------------------------------------------------------------------------------------
    def dot(self, x: float, y: float, stroke_id: int, width: float) -> None:
        r = width / 2
        self.canvas.create_oval(
            x - r, y - r, x + r, y + r, fill=theme.INK, width=0, tags=("ink", f"s{stroke_id}")
        )

    def line(self, path: list[tuple[float, float]], stroke_id: int, width: float) -> None:
        flat = [v for p in path for v in p]
        self.canvas.create_line(
            *flat,
            fill=theme.INK,
            width=width,
            capstyle=tk.ROUND,
            joinstyle=tk.ROUND,
            tags=("ink", f"s{stroke_id}"),
        )

    def erase(self, stroke_id: int | None = None) -> None:
        """Remove one stroke's ink, or all of it."""
        self.canvas.delete("ink" if stroke_id is None else f"s{stroke_id}")

    def show_hint(self, shown: bool) -> None:
        self.canvas.itemconfigure(self.hint, state="normal" if shown else "hidden")

    def place_hint(self) -> None:
        self.canvas.coords(self.hint, self.canvas.winfo_width() / 2, self.canvas.winfo_height() / 2)

    # -- the answer -----------------------------------------------------------------------------
    def show(self, p: Presentation, live: bool) -> None:
        self._shown = p
        fg = theme.DIM if live else (theme.TEXT if p.sure else theme.UNSURE_FG)
        self.big.configure(text=p.big, fg=fg)
        self.caption.configure(text=p.caption, fg=theme.DIM if live or p.sure else theme.UNSURE_FG)
        self.bars_label.configure(text=p.bars_label)
        probs = p.bars if p.bars is not None else np.zeros(10)
        top = int(np.argmax(probs)) if p.bars is not None else -1
        usable = self._bar_bottom - 2
        for d, (item, x0, x1) in enumerate(self._bar_items):
            y0 = self._bar_bottom - max(0.0, min(1.0, float(probs[d]))) * usable
            self.bars.coords(item, x0, y0, x1, self._bar_bottom)
            self.bars.itemconfigure(item, fill=theme.BAR_TOP if d == top else theme.BAR)
        if self.show_seen.get():
            self.refresh_seen()

    def refresh_seen(self) -> None:
        for w in self.seen.winfo_children():
            w.destroy()
        self._photos.clear()
        if not self.show_seen.get():
            return
        zoom = max(2, self.unit // 6)
        for image in self._shown.images[:SEEN_IMAGES]:
            photo = _photo_28(image, zoom)
            self._photos.append(photo)  # Tk drops an image whose Python object is collected
            tk.Label(self.seen, image=photo, bd=1, bg=theme.DIM).pack(side="left", padx=2)

    def set_status(self, text: str, notice: bool) -> None:
        self.status.configure(text=text, fg=theme.UNSURE_FG if notice else theme.DIM)

    # -- geometry -------------------------------------------------------------------------------
    def measure_canvas(self) -> dict:
        return _rect(self.canvas)

    def measure_controls(self) -> dict:
        """Where the buttons are on the screen (for operators' touch analytics and the tests)."""
        widgets = {"clear": self.clear_button, "undo": self.undo_button, "seen": self.seen_button}
        if self.camera_button is not None:
            widgets["camera"] = self.camera_button
        widgets.update(self.extra_controls)
        return {name: _rect(w) for name, w in widgets.items()}


def _rect(w: tk.Misc) -> dict:
    return {"x": w.winfo_rootx(), "y": w.winfo_rooty(), "width": w.winfo_width(), "height": w.winfo_height()}


def _photo_28(image: np.ndarray, zoom: int) -> tk.PhotoImage:
    """A 28x28 [0, 1] image as a Tk photo, scaled up by an integer factor (crisp pixels)."""
    levels = np.clip(np.asarray(image) * 255.0, 0, 255).astype(np.uint8)
    rows = ["{" + " ".join(f"#{v:02x}{v:02x}{v:02x}" for v in row) + "}" for row in levels]
    photo = tk.PhotoImage(width=levels.shape[1], height=levels.shape[0])
    photo.put(" ".join(rows))
    return photo.zoom(zoom)
