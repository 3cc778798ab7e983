#!/bin/sh
# The kiosk's X session (run by xinit from digitkiosk-kiosk.service): no screen saver, no
# blanking, no power-saving, no pointer; then the kiosk itself. When it exits (or crashes), the
# session ends and systemd starts a fresh one.
set -eu

xset s off          # no screen saver
xset s noblank      # no blanking
xset -dpms          # no display power management
# The X server already runs with -nocursor; unclutter also covers servers started without it.
if command -v unclutter >/dev/null 2>&1; then
    unclutter -idle 0 -root &
fi

# The model: the store's `current` link once one has been installed (the kiosk watches it and
# picks up a new model without a restart), the model bundled with the package until then. The
# card's name is fixed, as in Python (device/store.py): `<model>.json` beside the version's one
# `<model>.tflite`.
store="${DIGITKIOSK_STORE:-/var/lib/digitkiosk/models}"
if [ -z "${DIGITKIOSK_MODEL:-}" ] && [ -e "$store/current" ]; then
    set -- "$store"/current/*.tflite
    if [ $# -eq 1 ] && [ -f "$1" ]; then
        DIGITKIOSK_MODEL="${1%.tflite}.json"
        export DIGITKIOSK_MODEL
    fi
fi

exec /usr/local/bin/digitkiosk kiosk
