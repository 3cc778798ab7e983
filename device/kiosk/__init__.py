"""`digitkiosk kiosk`: the fullscreen touch canvas.

controller.py (ink, undo/clear, timing, what to show: no Tk), reading.py (canvas guards around the
recognizer), worker.py (recognition off the UI thread), events.py (the JSON-lines event log),
app.py (the Tk window); with --samples, correction.py (corrections without Tk), pad.py and
corrections.py (the Wrong? control and its pad). Tk is imported only by app.py, pad.py and
corrections.py.
"""
