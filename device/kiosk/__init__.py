"""`digitkiosk kiosk`: the fullscreen touch canvas.

controller.py (ink, undo/clear, timing, what to show: no Tk), reading.py (canvas guards around the
recognizer), worker.py (recognition off the UI thread), events.py (the JSON-lines event log),
app.py (the Tk window). Tk is imported only by app.py.
"""
