"""`digitkiosk kiosk`: the fullscreen touch canvas.

controller.py (ink, undo/clear, timing, what to show: no Tk), reading.py (canvas guards around the
recognizer), worker.py (recognition off the UI thread), app.py (the kiosk and its entry point,
`run_kiosk`), screen.py (its widgets), theme.py (colours and fonts), camera_mode.py (the camera
window). Events go to the device's one event log (`device/events.py`). Tk is imported only by
app.py, screen.py and camera_mode.py.
"""
