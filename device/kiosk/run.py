"""The kiosk's entry point: the app (`app.KioskApp`) run under the process's stop signals."""

from __future__ import annotations

import signal
import tkinter as tk

from ..recognizer import Recognizer
from .app import KioskApp
from .options import KioskOptions


def run_kiosk(recognizer: Recognizer, options: KioskOptions, root: tk.Tk) -> int:
    """Run the kiosk until it quits. SIGTERM and SIGINT (systemd stopping it, Ctrl+C) quit it
    cleanly; the process-wide handlers are installed here, for the run, and restored after.
    They are in place before the kiosk says it is ready, so a stop that follows "ready" is
    always a clean one (the pump, started with the kiosk, acts on the request)."""
    app = KioskApp(root, recognizer, options)
    previous = {
        sig: signal.signal(sig, lambda _n, _f: app.request_quit()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        app.start()
        root.mainloop()
    except KeyboardInterrupt:
        app.quit()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
