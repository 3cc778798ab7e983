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
# picks up a new model without a restart), the model bundled with the package until then.
if [ -z "${DIGITKIOSK_MODEL:-}" ] && [ -e "${DIGITKIOSK_STORE:-/var/lib/digitkiosk/models}/current" ]; then
    card="$(ls "${DIGITKIOSK_STORE:-/var/lib/digitkiosk/models}"/current/*.json 2>/dev/null | head -n 1)"
    if [ -n "$card" ]; then
        DIGITKIOSK_MODEL="${DIGITKIOSK_STORE:-/var/lib/digitkiosk/models}/current/$(basename "$card")"
        export DIGITKIOSK_MODEL
    fi
fi

exec /usr/local/bin/digitkiosk kiosk
