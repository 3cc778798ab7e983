#!/usr/bin/env bash
# Corrections on a kiosk (README "Corrections"): the samples folder, the kiosk service's
# DIGITKIOSK_SAMPLES, and the deploy account's way to collect them. Run by install.sh
# (--corrections turns them on, without it off); the paths are options so that the test suite
# runs this very script, for real, in a scratch folder.
#
#   corrections.sh enable --kiosk-user USER [--deploy-user USER] [--samples DIR] [--dropin FILE]
#                  [--wrapper FILE] [--sudoers FILE] [--digitkiosk PATH]
#   corrections.sh disable [--dropin FILE] [--sudoers FILE]
#
# enable: DIR owned by the kiosk's user, mode 0750 (the kiosk writes it; nobody else reads it);
#   a systemd drop-in setting DIGITKIOSK_SAMPLES=DIR for digitkiosk-kiosk.service; with
#   --deploy-user, the root-owned digitkiosk-samples wrapper (fixed grammar, fixed folder) and a
#   sudoers rule letting that user run it as the kiosk's user, checked by visudo.
# disable: the drop-in and the rule go; the folder and the samples in it stay (purge them with
#   `digitkiosk samples purge`).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SAMPLES=/var/lib/digitkiosk/samples
DROPIN=/etc/systemd/system/digitkiosk-kiosk.service.d/samples.conf
WRAPPER=/usr/local/sbin/digitkiosk-samples
SUDOERS=/etc/sudoers.d/digitkiosk-samples
DIGITKIOSK=/usr/local/bin/digitkiosk
KIOSK_USER=""
DEPLOY_USER=""

die() { echo "corrections.sh: error: $*" >&2; exit 2; }
say() { echo "==> $*"; }
user_name() { [[ "$1" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "not a user name: ${1@Q}"; id "$1" >/dev/null 2>&1 || die "no such user: $1"; }
absolute() { [[ "$1" == /* && "$1" != *$'\n'* && "$1" != *'|'* ]] || die "not an absolute path: ${1@Q}"; }
# Written beside its target, then renamed over it: a reader sees the old file or the new one.
put() { # put MODE CONTENT-FILE TARGET
    local tmp
    mkdir -p "$(dirname "$3")"
    tmp="$(mktemp "$(dirname "$3")/.$(basename "$3").XXXXXX")"
    cat "$2" > "$tmp"
    chown root:root "$tmp"
    chmod "$1" "$tmp"
    mv -f "$tmp" "$3"
}

[ $# -gt 0 ] || die "usage: corrections.sh enable|disable [options] (see --help)"
case "$1" in
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    enable | disable) ACTION=$1; shift ;;
    *) die "unknown action: ${1@Q} (enable, disable)" ;;
esac
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "$1 needs a value"
    case "$1" in
        --kiosk-user) KIOSK_USER=$2 ;;
        --deploy-user) DEPLOY_USER=$2 ;;
        --samples) SAMPLES=$2 ;;
        --dropin) DROPIN=$2 ;;
        --wrapper) WRAPPER=$2 ;;
        --sudoers) SUDOERS=$2 ;;
        --digitkiosk) DIGITKIOSK=$2 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
    shift 2
done
for path in "$SAMPLES" "$DROPIN" "$WRAPPER" "$SUDOERS" "$DIGITKIOSK"; do absolute "$path"; done
[ "$(id -u)" -eq 0 ] || die "run as root"

if [ "$ACTION" = disable ]; then
    rm -f "$DROPIN" "$SUDOERS"
    say "corrections off (samples kept in $SAMPLES are left; digitkiosk samples purge deletes them)"
    exit 0
fi

[ -n "$KIOSK_USER" ] || die "enable needs --kiosk-user"
user_name "$KIOSK_USER"
[ -z "$DEPLOY_USER" ] || user_name "$DEPLOY_USER"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT

say "samples folder $SAMPLES (the kiosk's user $KIOSK_USER alone)"
install -d -o "$KIOSK_USER" -g "$(id -gn "$KIOSK_USER")" -m 0750 "$SAMPLES"
printf '# Written by corrections.sh (install.sh --corrections): the kiosk keeps corrections here.\n[Service]\nEnvironment=DIGITKIOSK_SAMPLES=%s\n' \
    "$SAMPLES" > "$tmp"
put 0644 "$tmp" "$DROPIN"

if [ -n "$DEPLOY_USER" ]; then
    say "letting $DEPLOY_USER collect samples (sudo -n -u $KIOSK_USER $WRAPPER ...)"
    sed -e "s|^DIGITKIOSK=.*|DIGITKIOSK=$DIGITKIOSK|" -e "s|^SAMPLES=.*|SAMPLES=$SAMPLES|" \
        "$HERE/digitkiosk-samples" > "$tmp"
    put 0755 "$tmp" "$WRAPPER"
    sed -e "s|@DEPLOY_USER@|$DEPLOY_USER|" -e "s|@KIOSK_USER@|$KIOSK_USER|" -e "s|@WRAPPER@|$WRAPPER|" \
        "$HERE/digitkiosk-samples.sudoers" > "$tmp"
    visudo -cf "$tmp" >/dev/null || die "sudoers rule rejected by visudo"
    put 0440 "$tmp" "$SUDOERS"
else
    rm -f "$SUDOERS"  # no deploy account named: nobody collects through sudo
fi
