"""The correction pad (Tk): the ten digits and "Not a digit", laid over the kiosk's side panel.

Keys are touch-sized (about three UI lines square). For a number, a row above the keys shows its
digits as read; the one being corrected is highlighted, and tapping another selects it.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable

from ..samples.records import NOT_A_DIGIT

PAD_BG = "#22384a"
KEY_BG = "#34495e"
KEY_ACTIVE = "#3c5a75"
PICK_BG = "#2b3e50"
PICK_SELECTED = "#e0a030"
TEXT = "#f2f4f5"
# Key rows as on a phone's number pad, "0" under "8".
ROWS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), (None, "0", None))


def screen_rect(w: tk.Misc) -> dict:
    return {"x": w.winfo_rootx(), "y": w.winfo_rooty(), "width": w.winfo_width(), "height": w.winfo_height()}


class CorrectionPad:
    """Built once, hidden; `show` lays it over `parent` (the side panel) down to `above` (the
    kiosk's buttons, which stay usable)."""

    def __init__(
        self,
        parent: tk.Widget,
        above: tk.Widget,
        unit: int,
        *,
        on_key: Callable[[str], None],
        on_pick: Callable[[int], None],
        on_cancel: Callable[[], None],
    ) -> None:
        self.parent = parent
        self.above = above
        self.unit = unit
        self.on_pick = on_pick
        font = ("DejaVu Sans", -int(unit * 1.6), "bold")
        small = ("DejaVu Sans", -unit)
        self.frame = tk.Frame(parent, bg=PAD_BG)
        self.frame.columnconfigure((0, 1, 2), weight=1, uniform="k")
        self.title = tk.Label(self.frame, text="", font=small, fg=TEXT, bg=PAD_BG, wraplength=1)
        self.title.grid(row=0, column=0, columnspan=3, sticky="ew", pady=(unit, unit // 2))
        self.picks = tk.Frame(self.frame, bg=PAD_BG)
        self.picks.grid(row=1, column=0, columnspan=3, pady=(0, unit // 2))
        self.pick_buttons: list[tk.Button] = []
        style = {"font": font, "bd": 0, "relief": "flat", "fg": "white", "activebackground": KEY_ACTIVE}
        self.keys: dict[str, tk.Button] = {}
        for r, row in enumerate(ROWS, start=2):
            for c, label in enumerate(row):
                if label is None:
                    continue
                b = tk.Button(self.frame, text=label, bg=KEY_BG, command=lambda x=label: on_key(x), **style)
                b.grid(row=r, column=c, sticky="nsew", padx=unit // 4, pady=unit // 4, ipady=unit // 2)
                self.keys[label] = b
        # "Not a digit" and Cancel take the free places beside "0": the pad then fits above
        # Clear and Undo, which stay usable while it is open.
        side = {**style, "font": small, "wraplength": unit * 5}
        row0 = len(ROWS) + 1
        self.keys[NOT_A_DIGIT] = tk.Button(
            self.frame, text="Not a digit", bg="#6c4f7a", command=lambda: on_key(NOT_A_DIGIT), **side
        )
        self.keys[NOT_A_DIGIT].grid(row=row0, column=0, sticky="nsew", padx=unit // 4, pady=unit // 4)
        self.cancel = tk.Button(self.frame, text="Cancel", bg="#c0504d", command=on_cancel, **side)
        self.cancel.grid(row=row0, column=2, sticky="nsew", padx=unit // 4, pady=unit // 4)
        self.is_open = False

    def show(self, labels: list[str], selected: int) -> None:
        """Open (or refresh) the pad for a reading whose digits read `labels`."""
        for b in self.pick_buttons:
            b.destroy()
        self.pick_buttons = []
        several = len(labels) > 1
        if several:
            for i, label in enumerate(labels):
                b = tk.Button(
                    self.picks,
                    text=label if label != NOT_A_DIGIT else "-",
                    font=("DejaVu Sans", -int(self.unit * 1.4), "bold"),
                    bd=0,
                    fg="black" if i == selected else "white",
                    bg=PICK_SELECTED if i == selected else PICK_BG,
                    activebackground=KEY_ACTIVE,
                    width=2,
                    command=lambda i=i: self.on_pick(i),
                )
                b.pack(side="left", padx=self.unit // 6, ipady=self.unit // 3)
                self.pick_buttons.append(b)
        what = "the highlighted digit" if several else "it"
        self.title.configure(
            text=f"What did you write? Tap the right digit for {what}.",
            wraplength=max(1, self.parent.winfo_width() - 2 * self.unit),
        )
        height = max(1, self.above.winfo_y() - self.unit // 2)
        self.frame.place(in_=self.parent, x=0, y=0, relwidth=1.0, height=height)
        self.frame.lift()
        self.is_open = True
        self.frame.update_idletasks()

    def hide(self) -> None:
        self.frame.place_forget()
        self.is_open = False

    def rects(self) -> dict:
        """Where the keys are on the screen: the `correcting` event's contract."""
        out: dict = {
            "keys": {k: screen_rect(b) for k, b in self.keys.items()},
            "cancel": screen_rect(self.cancel),
        }
        if self.pick_buttons:
            out["digits"] = [screen_rect(b) for b in self.pick_buttons]
        return out
