#!/usr/bin/env bash
# Provision a Raspberry Pi OS kiosk (Bookworm, 64-bit or 32-bit) for digitkiosk.
#
#   sudo ./install.sh --source /path/to/digitkiosk-0.1.0-py3-none-any.whl \
#                     --trust-key signing_key.pub [--deploy-user pi] [--corrections]
#
# What it does, idempotently (run it again after an upgrade):
#   - the interpreter: ai-edge-litert on 64-bit (arm64), tflite-runtime on 32-bit (armhf),
#     in a venv at /opt/digitkiosk/venv; `digitkiosk` linked into /usr/local/bin
#   - trust: /etc/digitkiosk/trusted_keys/ with the given public key(s); model store
#     /var/lib/digitkiosk/models (root-owned; the kiosk only reads it)
#   - the kiosk: a `kiosk` user and digitkiosk-kiosk.service, which starts its own X session on
#     tty7 at boot (no desktop needed), hides the pointer, never blanks the screen, and restarts
#     the kiosk if it crashes
#   - with --deploy-user: lets that user run `sudo -n digitkiosk-model install|activate|rollback|
#     status|list` and nothing else (a root-owned wrapper with a fixed grammar; the store and the
#     trust policy cannot be changed through it). In the inventory: `digitkiosk_cmd: sudo -n
#     /usr/local/sbin/digitkiosk-model`, and no digitkiosk_store / digitkiosk_trust_dir.
#   - with --corrections (corrections.sh): the kiosk keeps corrections in /var/lib/digitkiosk/
#     samples (the kiosk user's alone) and shows its Wrong? button; with --deploy-user too, that
#     user may run `sudo -n -u kiosk digitkiosk-samples count|export|purge` (fixed grammar and
#     folder), which `digitkiosk-deploy collect` uses. Without --corrections they are turned off
#     (the samples already kept stay).
set -euo pipefail

PREFIX=/opt/digitkiosk
ETC=/etc/digitkiosk
STORE=/var/lib/digitkiosk/models
KIOSK_USER=kiosk
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE=""
DEPLOY_USER=""
CORRECTIONS=0
TRUST_KEYS=()

die() { echo "install.sh: error: $*" >&2; exit 2; }
say() { echo "==> $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --source) SOURCE="${2:?--source needs a wheel, sdist or source directory}"; shift 2 ;;
        --trust-key) TRUST_KEYS+=("${2:?--trust-key needs a .pub file}"); shift 2 ;;
        --deploy-user) DEPLOY_USER="${2:?--deploy-user needs a user name}"; shift 2 ;;
        --corrections) CORRECTIONS=1; shift ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...)"
[ -n "$SOURCE" ] || die "--source is required (the digitkiosk wheel or source directory)"
[ -e "$SOURCE" ] || die "no such file or directory: $SOURCE"
for key in "${TRUST_KEYS[@]}"; do
    [ -f "$key" ] || die "no such public key: $key"
    grep -q "BEGIN PUBLIC KEY" "$key" || die "$key is not a PEM public key (digitkiosk-deploy keygen writes one)"
done
if [ -n "$DEPLOY_USER" ]; then
    [[ "$DEPLOY_USER" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "not a user name: $DEPLOY_USER"
    id "$DEPLOY_USER" >/dev/null 2>&1 || die "no such user: $DEPLOY_USER"
fi

ARCH="$(dpkg --print-architecture)"
case "$ARCH" in
    arm64|amd64) INTERPRETER="ai-edge-litert" ;;   # what the [device] extra installs
    armhf) INTERPRETER="tflite-runtime" ;;          # ai-edge-litert has no 32-bit ARM wheels
    *) die "unsupported architecture: $ARCH (Raspberry Pi OS 64-bit is arm64, 32-bit is armhf)" ;;
esac
say "architecture $ARCH: TFLite interpreter $INTERPRETER"

say "system packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# xinit + a bare X server: the kiosk runs its own session, with or without a desktop installed.
# python3-tk: the kiosk draws with Tk. x11-xserver-utils: xset (screen blanking off).
apt-get install -y -q --no-install-recommends \
    python3-venv python3-tk xserver-xorg xserver-xorg-legacy xinit x11-xserver-utils \
    unclutter fonts-dejavu-core

say "python environment in $PREFIX/venv"
python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install -q --upgrade pip
if [ "$INTERPRETER" = "tflite-runtime" ]; then
    # piwheels (preconfigured on Raspberry Pi OS) carries tflite-runtime for 32-bit boards.
    "$PREFIX/venv/bin/pip" install -q "${SOURCE}[device]" tflite-runtime
else
    "$PREFIX/venv/bin/pip" install -q "${SOURCE}[device]"
fi
ln -sf "$PREFIX/venv/bin/digitkiosk" /usr/local/bin/digitkiosk

say "trust directory and model store"
# Root's alone (the device refuses a trust directory or key others can write); only *.pub are keys.
install -d -o root -g root -m 0755 "$ETC" "$ETC/trusted_keys"
for key in "${TRUST_KEYS[@]}"; do
    name="$(basename "$key")"
    install -o root -g root -m 0644 "$key" "$ETC/trusted_keys/${name%.pub}.pub"
done
install -d -o root -g root -m 0755 "$(dirname "$STORE")" "$STORE"
[ -f "$ETC/kiosk.env" ] || install -m 0644 "$HERE/kiosk.env" "$ETC/kiosk.env"

say "kiosk user and session"
if ! id "$KIOSK_USER" >/dev/null 2>&1; then
    useradd --system --create-home --shell /usr/sbin/nologin "$KIOSK_USER"
fi
usermod -aG video,input,render,tty "$KIOSK_USER"
# Let a non-root user start the X server on the console (xserver-xorg-legacy's wrapper).
printf 'allowed_users=anybody\nneeds_root_rights=yes\n' > /etc/X11/Xwrapper.config
install -m 0755 "$HERE/kiosk-session.sh" "$PREFIX/kiosk-session"
install -m 0644 "$HERE/digitkiosk-kiosk.service" /etc/systemd/system/digitkiosk-kiosk.service
if [ "$CORRECTIONS" = 1 ]; then
    bash "$HERE/corrections.sh" enable --kiosk-user "$KIOSK_USER" ${DEPLOY_USER:+--deploy-user "$DEPLOY_USER"}
else
    bash "$HERE/corrections.sh" disable
fi

if [ -n "$DEPLOY_USER" ]; then
    say "letting $DEPLOY_USER manage models (sudo -n /usr/local/sbin/digitkiosk-model ...)"
    install -o root -g root -m 0755 "$HERE/digitkiosk-model" /usr/local/sbin/digitkiosk-model
    tmp="$(mktemp)"
    sed -e "s|@DEPLOY_USER@|$DEPLOY_USER|" -e "s|@WRAPPER@|/usr/local/sbin/digitkiosk-model|" \
        "$HERE/digitkiosk.sudoers" > "$tmp"
    visudo -cf "$tmp" >/dev/null || { rm -f "$tmp"; die "sudoers rule rejected by visudo"; }
    install -m 0440 "$tmp" /etc/sudoers.d/digitkiosk
    rm -f "$tmp"
elif [ -f /etc/sudoers.d/digitkiosk ] && grep -q "digitkiosk model \*" /etc/sudoers.d/digitkiosk; then
    # The rule of earlier versions let the deploy account pass any option as root: remove it.
    say "removing the old sudoers rule (digitkiosk model *): rerun with --deploy-user to allow deploys"
    rm -f /etc/sudoers.d/digitkiosk
fi

say "enabling the kiosk at boot"
systemctl daemon-reload
systemctl disable --now getty@tty7.service 2>/dev/null || true
systemctl enable digitkiosk-kiosk.service
systemctl set-default graphical.target
if [ -z "$(ls -A "$ETC/trusted_keys")" ]; then
    echo "warning: no trusted keys in $ETC/trusted_keys: 'digitkiosk model install' will refuse every model" >&2
fi
say "done: reboot, or: systemctl start digitkiosk-kiosk.service"
