# shellcheck shell=bash
# Local service stack for tests and dev runs: Redis, PulseAudio, livekit-server, all on loopback.
# Source it:  . scripts/lib/stack.sh
#
#   stack_init                           new session: clean up what a previous (crashed) session left, new tag
#   stack_start_redis PORT               redis-server on 127.0.0.1:PORT, no persistence
#   stack_start_pulse                    private pulseaudio for this checkout (only if `pactl info` fails), as root too
#   stack_start_livekit PORT REDIS_PORT  livekit-server from docker/livekit-dev.yaml on 127.0.0.1:PORT
#   stack_spawn NAME CMD...              start any other process the same way (own session, pid + log)
#   stack_check_loopback_ice             show node IP / candidate / socket evidence, fail on a non-loopback address
#   stack_leftovers                      list our leftover Xvfb/chromium/gst-launch-1.0 and EG_* pulse sinks
#   stack_stop_all                       stop everything started (reverse order), kill leftovers, unload EG_* sinks
#   stack_free_port PORT [LAST]          first port in PORT..LAST nobody listens on (on 127.0.0.1)
#
# State lives in <repo>/.stack/<name>/{pid,comm,log}; .stack/started lists names in start order.
#
# The machine may be shared (other sessions running their own Xvfb/Chromium/gst-launch and pulse sinks), so:
#  - a leftover media process is "ours" only if its environment carries this session's EGRESS_STACK_TAG (exported
#    by stack_init; every process the tests spawn inherits it unless it is started with a scrubbed environment);
#  - PulseAudio is a private instance per checkout (PULSE_RUNTIME_PATH / PULSE_STATE_PATH / PULSE_SERVER are
#    exported when this file is sourced, so pactl, gst pulsesrc and Chromium started from here all use it):
#    every EG_* sink in it is ours, and the user's or another session's pulse server is never touched.

STACK_REPO=${STACK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
STACK_DIR="$STACK_REPO/.stack"
STACK_LIVEKIT_BIN=${STACK_LIVEKIT_BIN:-$STACK_REPO/.cache/bin/livekit-server}
STACK_LIVEKIT_TEMPLATE=${STACK_LIVEKIT_TEMPLATE:-$STACK_REPO/docker/livekit-dev.yaml}
STACK_READY_TIMEOUT=${STACK_READY_TIMEOUT:-30}
# livekit-server v1.13 logs an ERROR for secrets shorter than 32 characters: this one is exactly 32.
STACK_API_KEY=devkey
STACK_API_SECRET=secretsecretsecretsecretsecret12
STACK_PULSE_DIR=${STACK_PULSE_DIR:-/tmp/egress-stack-$(printf %s "$STACK_REPO" | cksum | cut -d' ' -f1)-pulse}
export PULSE_RUNTIME_PATH="$STACK_PULSE_DIR/run" PULSE_STATE_PATH="$STACK_PULSE_DIR/state"
export PULSE_SERVER="unix:$STACK_PULSE_DIR/run/native"
STACK_MEDIA_PROCS_RE='^(Xvfb|chromium|chrome|chrome_crashpad|gst-launch-1.0)$'

_stack_log() { echo "stack: $*" >&2; }
_stack_now() { date +%s%N; }

# --- processes ---------------------------------------------------------------------------------------------

# Alive and not a zombie.
_stack_pid_alive() {
  local state
  state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

_stack_starttime() { awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }

# The pid recorded for NAME, if that process is still the one we started (same pid and start time; the start
# time survives exec, e.g. bin/egress exec-ing node).
_stack_pid_of() {
  local dir="$STACK_DIR/$1" pid start
  [[ -f $dir/pid ]] || return 1
  pid=$(cat "$dir/pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  _stack_pid_alive "$pid" || return 1
  start=$(cat "$dir/start" 2>/dev/null || true)
  [[ -n $start && $(_stack_starttime "$pid") == "$start" ]] || return 1
  echo "$pid"
}

# stack_spawn NAME CMD...: run CMD in the background in its own session (Ctrl-C in the terminal reaches only
# the calling script, which then stops things in order), stdout+stderr to .stack/NAME/log, pid to .stack/NAME/pid.
stack_spawn() {
  local name=$1 dir="$STACK_DIR/$1"
  shift
  mkdir -p "$dir"
  rm -f "$dir/pid" "$dir/start"
  # the wrapper records its pid and start time, then execs CMD (same pid, same start time)
  # (env --default-signal: a background job of a non-interactive shell starts with SIGINT/SIGQUIT ignored, and an
  # ignored signal stays ignored across exec; egress must get SIGINT to finalize recordings.)
  setsid env --default-signal=INT,QUIT bash -c 'echo $$ >"$1.tmp"; awk '\''{ sub(/.*\) /, ""); print $20 }'\'' /proc/$$/stat >"$2"; mv "$1.tmp" "$1"
    shift 2; exec "$@"' _ "$dir/pid" "$dir/start" "$@" >"$dir/log" 2>&1 </dev/null &
  disown $! 2>/dev/null || true # no "Killed" job reports; _stack_pid_alive treats an unreaped zombie as gone
  local i
  for ((i = 0; i < 250; i++)); do
    [[ -s $dir/pid ]] && break
    sleep 0.02
  done
  grep -qx "$name" "$STACK_DIR/started" 2>/dev/null || echo "$name" >>"$STACK_DIR/started"
}

# _stack_stop NAME SIGNAL TIMEOUT_S: signal the process group of NAME, wait, then SIGKILL.
_stack_stop() {
  local name=$1 sig=$2 timeout=$3 pid
  if pid=$(_stack_pid_of "$name"); then
    kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
    local deadline=$(($(date +%s) + timeout))
    while _stack_pid_alive "$pid" && (($(date +%s) < deadline)); do sleep 0.1; done
    if _stack_pid_alive "$pid"; then
      _stack_log "$name (pid $pid) did not exit within ${timeout}s after SIG$sig: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    _stack_log "stopped $name (pid $pid)"
  fi
  rm -f "$STACK_DIR/$name/pid"
}

# "pid starttime comm" of every running Xvfb/chromium/gst-launch-1.0.
_stack_media_procs() {
  local p comm st
  for p in /proc/[0-9]*; do
    comm=$(cat "$p/comm" 2>/dev/null) || continue
    [[ $comm =~ $STACK_MEDIA_PROCS_RE ]] || continue
    st=$(awk '{ sub(/.*\) /, ""); print $1, $20 }' "$p/stat" 2>/dev/null) || continue
    [[ ${st%% *} == Z ]] && continue
    echo "${p#/proc/} ${st#* } $comm"
  done
}

# Media processes that are ours: tagged with this session's EGRESS_STACK_TAG.
_stack_our_media_procs() {
  local tag pid start comm
  tag=$(cat "$STACK_DIR/tag" 2>/dev/null || echo "${EGRESS_STACK_TAG:-}")
  [[ -n $tag ]] || return 0
  while read -r pid start comm; do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "EGRESS_STACK_TAG=$tag"; then
      echo "$pid $comm"
    fi
  done < <(_stack_media_procs)
}

_stack_kill_media_leftovers() {
  local procs pids
  procs=$(_stack_our_media_procs)
  [[ -n $procs ]] || return 0
  pids=$(awk '{ print $1 }' <<<"$procs" | xargs)
  _stack_log "killing leftover media processes: $(awk '{ printf "%s(%s) ", $2, $1 }' <<<"$procs")"
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  local i p alive
  for ((i = 0; i < 50; i++)); do
    alive=""
    for p in $pids; do _stack_pid_alive "$p" && alive+=" $p"; done
    [[ -n $alive ]] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $alive 2>/dev/null || true
}

# --- ports -------------------------------------------------------------------------------------------------

_stack_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stack_free_port() {
  local port=$1 last=${2:-$(($1 + 100))}
  for (( ; port <= last; port++)); do
    _stack_port_open "$port" || {
      echo "$port"
      return 0
    }
  done
  _stack_log "no free port in $1..$last"
  return 1
}

# _stack_wait NAME WHAT CMD...: poll CMD until it succeeds, the process dies, or STACK_READY_TIMEOUT passes.
_stack_wait() {
  local name=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + STACK_READY_TIMEOUT)) t0
  t0=$(_stack_now)
  while :; do
    if "$@" >/dev/null 2>&1; then
      _stack_log "$name ready: $what ($(awk -v a="$t0" -v b="$(_stack_now)" 'BEGIN { printf "%.1fs", (b - a) / 1e9 }'))"
      return 0
    fi
    if [[ $name != pulse ]] && ! _stack_pid_of "$name" >/dev/null; then
      _stack_log "$name exited before it was ready; last lines of $STACK_DIR/$name/log:"
      tail -n 30 "$STACK_DIR/$name/log" >&2 || true
      return 1
    fi
    if (($(date +%s) >= deadline)); then
      _stack_log "$name not ready after ${STACK_READY_TIMEOUT}s ($what); last lines of $STACK_DIR/$name/log:"
      tail -n 30 "$STACK_DIR/$name/log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
}

# --- session -----------------------------------------------------------------------------------------------

stack_init() {
  mkdir -p "$STACK_DIR"
  if [[ -f $STACK_DIR/started || -f $STACK_DIR/pulse/started_by_us ]]; then
    _stack_log "cleaning up state left by an earlier session"
    stack_stop_all
  fi
  : >"$STACK_DIR/started"
  EGRESS_STACK_TAG="stack-$$-$(date +%s%N)"
  export EGRESS_STACK_TAG
  echo "$EGRESS_STACK_TAG" >"$STACK_DIR/tag"
}

# --- services ----------------------------------------------------------------------------------------------

_stack_redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

stack_start_redis() {
  local port=${1:?usage: stack_start_redis PORT}
  _stack_stop redis TERM 10
  if _stack_port_open "$port"; then
    _stack_log "redis: 127.0.0.1:$port is already in use by another process"
    return 1
  fi
  mkdir -p "$STACK_DIR/redis"
  stack_spawn redis redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
    --dir "$STACK_DIR/redis"
  echo "$port" >"$STACK_DIR/redis/port"
  _stack_wait redis "redis-cli -p $port ping = PONG" _stack_redis_ping "$port"
}

_stack_pulse_sink_modules() {
  # module index of every null sink whose sink_name starts with EG_
  pactl list short modules 2>/dev/null | awk -F'\t' '$2 == "module-null-sink" && $3 ~ /(^| )sink_name=EG_/ { print $1 }'
}

_stack_unload_eg_sinks() {
  local idx
  for idx in $(_stack_pulse_sink_modules); do
    pactl unload-module "$idx" 2>/dev/null && _stack_log "unloaded pulse module $idx (EG_ null sink)"
  done
  return 0
}

stack_start_pulse() {
  local dir="$STACK_DIR/pulse"
  mkdir -p "$dir" "$PULSE_RUNTIME_PATH" "$PULSE_STATE_PATH"
  if pactl info >/dev/null 2>&1; then
    _stack_log "pulse: already running ($PULSE_SERVER)"
  else
    # As root pulseaudio warns "not intended to be run as root" but runs; --system=false keeps it a per-user
    # daemon (the default, said explicitly). Its runtime dir comes from PULSE_RUNTIME_PATH.
    if ! pulseaudio -D --system=false --exit-idle-time=-1 --disallow-exit --log-target="file:$dir/log" \
      2>"$dir/start.err"; then
      _stack_log "pulse: 'pulseaudio -D --system=false' failed ($(tail -n 3 "$dir/start.err" | xargs)); retrying without it"
      pulseaudio -D --exit-idle-time=-1 --disallow-exit --log-target="file:$dir/log" 2>>"$dir/start.err" || true
    fi
    touch "$dir/started_by_us"
    _stack_wait pulse "pactl info ($PULSE_SERVER)" pactl info || return 1
  fi
  local stale
  stale=$(_stack_pulse_sink_modules | xargs)
  if [[ -n $stale ]]; then
    _stack_log "pulse: unloading EG_ sinks left by an earlier run (modules $stale)"
    _stack_unload_eg_sinks
  fi
}

_stack_http_ok() {
  # HTTP GET / on 127.0.0.1:PORT answers 200 with body "OK" (bash /dev/tcp: no curl needed)
  local resp
  resp=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3; cat <&3' _ "$1" 2>/dev/null | tr -d '\r') || return 1
  [[ $(head -n 1 <<<"$resp") == HTTP/1.?\ 200* && $(tail -n 1 <<<"$resp") == OK ]]
}

_stack_http_status_ok() {
  # HTTP GET / on 127.0.0.1:PORT answers 200 (any body)
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3; head -n 1 <&3' _ "$1" 2>/dev/null |
    grep -q '^HTTP/1\.[01] 200'
}

# stack_livekit_config PORT REDIS_PORT [RTC_START RTC_END]: write .stack/livekit/livekit.yaml from the template.
# Env: STACK_LIVEKIT_LOG_LEVEL (default info; debug logs every ICE candidate sent), LIVEKIT_RTC_TCP_PORT (default 0
# = no ICE-TCP listener, which livekit-server would open on the wildcard address).
stack_livekit_config() {
  local port=$1 redis_port=$2 rtc_start=${3:-50000} rtc_end=${4:-60000} tcp_port=${LIVEKIT_RTC_TCP_PORT:-0}
  local out="$STACK_DIR/livekit/livekit.yaml"
  mkdir -p "$STACK_DIR/livekit"
  awk -v port="$port" -v redis="127.0.0.1:$redis_port" -v key="$STACK_API_KEY" -v secret="$STACK_API_SECRET" \
    -v rs="$rtc_start" -v re="$rtc_end" -v tcp="$tcp_port" -v level="${STACK_LIVEKIT_LOG_LEVEL:-info}" '
    BEGIN { v["port"] = port; v["redis_address"] = redis; v["port_range_start"] = rs; v["port_range_end"] = re
            v["tcp_port"] = tcp; v["log_level"] = level }
    match($0, /# stack: [a-z_]+$/) {
      name = substr($0, RSTART + 9); match($0, /^ */); indent = substr($0, 1, RLENGTH)
      split($0, kv, ":"); k = substr(kv[1], RLENGTH + 1)
      if (name == "keys") { print indent key ": " secret " # stack: keys"; n++; next }
      if (!(name in v)) { print "unknown stack marker " name > "/dev/stderr"; exit 1 }
      print indent k ": " v[name] " # stack: " name; n++; next
    }
    { print }
    END { if (n != 7) { print "expected 7 stack markers, found " n > "/dev/stderr"; exit 1 } }
  ' "$STACK_LIVEKIT_TEMPLATE" >"$out"
  echo "$out"
}

stack_start_livekit() {
  local port=${1:?usage: stack_start_livekit PORT REDIS_PORT [RTC_START RTC_END]} redis_port=${2:?REDIS_PORT}
  _stack_stop livekit TERM 10
  if [[ ! -x $STACK_LIVEKIT_BIN ]]; then
    _stack_log "livekit: $STACK_LIVEKIT_BIN missing: run scripts/setup"
    return 1
  fi
  if _stack_port_open "$port"; then
    _stack_log "livekit: 127.0.0.1:$port is already in use by another process"
    return 1
  fi
  local conf
  conf=$(stack_livekit_config "$@") || return 1
  stack_spawn livekit "$STACK_LIVEKIT_BIN" --config "$conf"
  echo "$port" >"$STACK_DIR/livekit/port"
  _stack_wait livekit "GET http://127.0.0.1:$port/ = 200 OK" _stack_http_ok "$port"
}

# --- checks ------------------------------------------------------------------------------------------------

_stack_is_loopback() {
  local a=${1#[}
  a=${a%]}
  [[ $a == 127.* || $a == ::1 || $a == 0:0:0:0:0:0:0:1 ]]
}

# Evidence that livekit-server hands out loopback addresses only, from its log and its sockets:
#  - the node IP of the "starting LiveKit server" line;
#  - every server-side ICE candidate: "[local]..." entries of the INFO "participant active" lines, and (at log level
#    debug) the candidates of "sending ICE candidate" lines;
#  - the sockets livekit-server has open (ss, if installed).
# Fails if any of these is outside 127.0.0.0/8 and ::1. Client-offered (remote) candidates are listed, not judged:
# they are the client's own interface addresses (the traffic still stays on this machine).
stack_check_loopback_ice() {
  local log="$STACK_DIR/livekit/log" bad=0 pid addr
  [[ -f $log ]] || {
    _stack_log "no livekit log at $log"
    return 1
  }
  local start node_ip
  start=$(grep -m1 'starting LiveKit server' "$log" || true)
  node_ip=$(grep -oE '"nodeIP": "[^"]*"' <<<"$start" | cut -d'"' -f4)
  echo "== livekit start: $(grep -oE '"(nodeIP|bindAddresses|rtc\.portICERange|rtc\.portTCP|rtc\.portUDP|version)": ("[^"]*"|\[[^]]*\]|[0-9]+)' <<<"$start" | xargs)"
  if [[ -z $node_ip ]]; then
    echo "NO nodeIP in the livekit log"
    bad=1
  elif ! _stack_is_loopback "$node_ip"; then
    echo "NOT LOOPBACK nodeIP: $node_ip"
    bad=1
  fi

  local local_cands sent_cands remote_cands
  local_cands=$(grep -F 'participant active' "$log" | grep -oE '\[local\][^"]*' | sed -E 's/ \(resolved:.*//' | sort -u || true)
  sent_cands=$(grep -F 'sending ICE candidate' "$log" | grep -oE 'candidate:[0-9]+ [0-9]+ [a-z]+ [0-9]+ [^ ]+ [0-9]+ typ [a-z]+' |
    awk '{ print $3, $5 ":" $6, $8 }' | sort -u || true)
  remote_cands=$(grep -F 'participant active' "$log" | grep -oE '\[remote\][^"]*' | sed -E 's/ \(resolved:.*//' | sort -u || true)
  echo "== server ICE candidates (participant active, [local]):"
  if [[ -n $local_cands ]]; then sed 's/^/  /' <<<"$local_cands"; else echo "  (none: no participant has connected yet)"; fi
  if [[ -n $sent_cands ]]; then
    echo "== server ICE candidates sent (debug 'sending ICE candidate'):"
    sed 's/^/  /' <<<"$sent_cands"
  fi
  local line
  while read -r line; do
    [[ -n $line ]] || continue
    # "[local][selected:1][trickle] udp4 host 127.0.0.1:51338" or "udp 127.0.0.1:51338 host"
    addr=$(grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+|\[?[0-9a-fA-F:]*:[0-9a-fA-F:]*\]?:[0-9]+' <<<"$line" | head -n1)
    addr=${addr%:*}
    if [[ -z $addr ]] || ! _stack_is_loopback "$addr"; then
      echo "NOT LOOPBACK server candidate: $line"
      bad=1
    fi
  done <<<"$local_cands"$'\n'"$sent_cands"
  if [[ -n $remote_cands ]]; then
    echo "== client-offered candidates (not judged; the client's own interfaces):"
    sed 's/^/  /' <<<"$remote_cands"
  fi

  if pid=$(_stack_pid_of livekit) && command -v ss >/dev/null; then
    echo "== sockets of livekit-server (pid $pid): proto state local-address"
    local socks
    socks=$(ss -H -tuanp 2>/dev/null | grep -F "pid=$pid," | awk '{ print $1, $2, $5 }' | sort -u || true)
    sed 's/^/  /' <<<"${socks:-(none)}"
    while read -r _ _ addr; do
      [[ -n $addr ]] || continue
      if ! _stack_is_loopback "${addr%:*}"; then
        echo "NOT LOOPBACK socket: $addr"
        bad=1
      fi
    done <<<"$socks"
  fi
  if ((bad)); then
    echo "== loopback check: FAILED"
    return 1
  fi
  echo "== loopback check: ok (livekit-server uses and hands out only 127.0.0.0/8 / ::1)"
}

# Lists leftover media processes of ours and EG_* pulse sinks; returns 1 if there are any.
stack_leftovers() {
  local procs sinks rc=0
  procs=$(_stack_our_media_procs)
  if [[ -n $procs ]]; then
    echo "leftover processes:"
    local pid comm
    while read -r pid comm; do
      echo "  $pid $comm: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)"
    done <<<"$procs"
    rc=1
  fi
  sinks=$(pactl list short sinks 2>/dev/null | awk -F'\t' '$2 ~ /^EG_/ { print "  " $1 " " $2 }')
  if [[ -n $sinks ]]; then
    echo "leftover EG_ pulse sinks:"
    echo "$sinks"
    rc=1
  fi
  return $rc
}

# --- stop --------------------------------------------------------------------------------------------------

# Per-name stop signal and grace: egress gets SIGINT and time to finalize recordings.
_stack_stop_signal() { case "$1" in egress*) echo "INT ${STACK_EGRESS_STOP_TIMEOUT:-60}" ;; *) echo "TERM 10" ;; esac; }

stack_stop_all() {
  [[ -d $STACK_DIR ]] || return 0
  local names="" name
  [[ -f $STACK_DIR/started ]] && names=$(tac "$STACK_DIR/started")
  # services other than redis/livekit first (egress etc.), then livekit, then redis
  local ordered
  ordered=$(grep -vxE 'livekit|redis' <<<"$names" || true)
  grep -qx livekit <<<"$names" && ordered+=$'\n'livekit
  grep -qx redis <<<"$names" && ordered+=$'\n'redis
  for name in $ordered; do
    # shellcheck disable=SC2046
    _stack_stop "$name" $(_stack_stop_signal "$name")
  done
  _stack_kill_media_leftovers
  if pactl info >/dev/null 2>&1; then _stack_unload_eg_sinks; fi
  if [[ -f $STACK_DIR/pulse/started_by_us ]]; then
    pulseaudio --kill 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
      pactl info >/dev/null 2>&1 || break
      sleep 0.1
    done
    rm -f "$STACK_DIR/pulse/started_by_us"
    _stack_log "stopped pulseaudio"
  fi
  rm -f "$STACK_DIR/started"
}
