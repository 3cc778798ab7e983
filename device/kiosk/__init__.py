"""`digitkiosk kiosk`: the fullscreen touch canvas.

controller.py (ink, undo/clear, timing, what to show: no Tk), reading.py (canvas guards around the
recognizer), worker.py (recognition off the UI thread), app.py (the kiosk), run.py (its entry
point, `run_kiosk`: the app under the stop signals), screen.py (its widgets), theme.py (colours
and fonts), camera_mode.py (the camera window); with --samples, correction.py (corrections
without Tk), pad.py and corrections.py (the Wrong? control and its pad). Events go to the
device's one event log (`device/events.py`). Tk is imported only by app.py, run.py, screen.py,
camera_mode.py, pad.py and corrections.py.
"""
