"""Camera mode: capture (newest frame only, reconnect with backoff), per-frame pipeline over the
shared segmentation, stability filter, headless JSON-lines runner and the Tk view."""
