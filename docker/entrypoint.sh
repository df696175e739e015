#!/usr/bin/env bash
# Container entry point, run by tini (PID 1): clears the temp state a previous run of this container left,
# starts the one PulseAudio daemon every recorder's null sink lives in, then execs `egress serve "$@"`.
# Config comes as for `egress serve`: EGRESS_CONFIG_BODY (inline YAML), EGRESS_CONFIG_FILE or --config FILE.
#
# Paths it clears and uses (overridable, so the script can also run outside a container):
#   HOME (/home/egress), EGRESS_TMP ($HOME/tmp: emptied, then the service's TMPDIR), EGRESS_X11_TMP (/tmp:
#   where Xvfb keeps its lock files), EGRESS_BIN (egress on PATH). PulseAudio's dirs always derive from HOME
#   ($HOME/.cache/xdgr/pulse, $HOME/.config/pulse): an inherited XDG_RUNTIME_DIR may be a desktop session's.
set -euo pipefail

log() { echo "entrypoint: $*" >&2; }

HOME=${HOME:-/home/egress}
# Not an inherited TMPDIR: that may well be a shared /tmp, and this directory gets emptied.
EGRESS_TMP=${EGRESS_TMP:-$HOME/tmp}
export TMPDIR=$EGRESS_TMP
export XDG_RUNTIME_DIR=$HOME/.cache/xdgr
export PULSE_RUNTIME_PATH=$XDG_RUNTIME_DIR/pulse
export PULSE_STATE_PATH=$HOME/.config/pulse
X11_TMP=${EGRESS_X11_TMP:-/tmp}
EGRESS_BIN=${EGRESS_BIN:-egress}
# The daemon started below is the one the service must use, not one named by the environment.
unset PULSE_SERVER

# --- stale temp state --------------------------------------------------------------------------------------
# Everything in TMPDIR goes except the service's scratch root and logs (default tmp_dir and log_dir): the
# service's reaper removes dead egresses' scratch dirs itself and keeps, and reports, those holding media.
mkdir -p "$TMPDIR"
tmp_real=$(cd "$TMPDIR" && pwd -P)
case "$tmp_real" in
  / | /tmp | /var/tmp | "$(cd "$HOME" && pwd -P)")
    log "refusing to clear $TMPDIR ($tmp_real): point EGRESS_TMP at a directory of its own"
    exit 1
    ;;
esac
find "$TMPDIR" -mindepth 1 -maxdepth 1 ! -name lk-egress ! -name lk-egress-logs -exec rm -rf {} +
# PulseAudio refuses to start over a pid file or socket of a daemon that no longer runs.
rm -rf "$PULSE_RUNTIME_PATH" "$PULSE_STATE_PATH"
mkdir -p "$XDG_RUNTIME_DIR" "$PULSE_RUNTIME_PATH" "$PULSE_STATE_PATH"
chmod 0700 "$XDG_RUNTIME_DIR" "$PULSE_RUNTIME_PATH" "$PULSE_STATE_PATH"
# Xvfb lock files of displays whose server is gone would make Xvfb refuse those display numbers.
for lock in "$X11_TMP"/.X*-lock; do
  [[ -f $lock ]] || continue
  pid=$(tr -dc '0-9' <"$lock" 2>/dev/null || true)
  # /proc, not kill -0: that fails for a live server of another user too.
  if [[ -z $pid || ! -d /proc/$pid ]]; then
    display=${lock##*/.X}
    display=${display%-lock}
    rm -f "$lock" "$X11_TMP/.X11-unix/X$display"
    log "removed stale X display lock :$display"
  fi
done

# Recorders hold many pipes and sockets; take the hard limit when the soft one is lower.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- PulseAudio --------------------------------------------------------------------------------------------
# One per-user daemon for the whole container; it must never exit on its own while the service runs.
if ! pulseaudio -D --exit-idle-time=-1 --disallow-exit --log-target=stderr; then
  log "pulseaudio -D failed"
  exit 1
fi
for ((i = 0; i < 100; i++)); do
  pactl info >/dev/null 2>&1 && break
  sleep 0.1
done
if ! pactl info >/dev/null 2>&1; then
  log "PulseAudio did not answer within 10 s (PULSE_RUNTIME_PATH=$PULSE_RUNTIME_PATH)"
  exit 1
fi
log "PulseAudio ready ($PULSE_RUNTIME_PATH)"

exec "$EGRESS_BIN" serve "$@"
