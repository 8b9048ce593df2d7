#!/usr/bin/env bash
# e2e: a real restreaming core (nginx + libnginx-mod-rtmp from Debian) in front of whepd.
#
#   bash e2e/rtmp-core.sh [repo root]
#
# Starts its own nginx (daemon off, master_process off, temp prefix; never the system service),
# publishes fixtures/media/demo.mp4 to it over RTMP with FFmpeg, points a whepd stream at the RTMP
# URL and checks: media reaches a WHEP client; when the publisher stops, whepd drops the viewer
# and goes not-ready; when the publisher comes back, whepd recovers and a new client gets media.
# Prints `PASS rtmp/<check>` / `FAIL rtmp/<check>: reason` lines, then `rtmp: N passed, N failed`;
# exits non-zero on any FAIL. Everything listens on 127.0.0.1; every wait is bounded.
# RTMP_INPUT_ARGS (optional): a JSON array put in the stream's "inputArgs", e.g. '["-rw_timeout","3000000"]'.
set -uo pipefail

ROOT=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$ROOT" || { echo "FAIL rtmp/setup: cannot cd to $ROOT"; echo "rtmp: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS rtmp/$1${2:+ ($2)}"; }
fail() { failed=$((failed + 1)); echo "FAIL rtmp/$1: $2"; }
note() { echo "# $*"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/whepd-rtmp.XXXXXX")
OWNED=()
NGINX_PID=
PUB_PID=
WHEPD_PID=

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# stop <pid>: SIGTERM, up to 3 s, then SIGKILL; reaps it.
stop() {
  local pid=$1 i
  alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 30); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}
cleanup() {
  local pid
  for pid in "${OWNED[@]}"; do stop "$pid"; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

finish() {
  echo "rtmp: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

# --- nginx + libnginx-mod-rtmp --------------------------------------------------------------
NGINX_BIN=$(command -v nginx || true)
[ -z "$NGINX_BIN" ] && [ -x /usr/sbin/nginx ] && NGINX_BIN=/usr/sbin/nginx
RTMP_SO=$(dpkg -L libnginx-mod-rtmp 2>/dev/null | grep -m1 '/ngx_rtmp_module\.so$' || true)
if [ -z "$NGINX_BIN" ] || [ -z "$RTMP_SO" ]; then
  if apt-cache policy nginx-light 2>/dev/null | grep -q 'Candidate: [0-9]'; then NGX_PKG=nginx-light; else NGX_PKG=nginx; fi
  INSTALL_CMD="apt-get install -y --no-install-recommends $NGX_PKG libnginx-mod-rtmp"
  if [ "$(id -u)" = 0 ]; then
    note "installing: $INSTALL_CMD"
    # RUNLEVEL=1: the package's postinst must not start the system nginx service.
    if ! RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive timeout 180 $INSTALL_CMD >"$TMP/apt.out" 2>&1; then
      fail "setup/install" "'$INSTALL_CMD' failed: $(tail -n 3 "$TMP/apt.out" | tr '\n' ' ' | cut -c1-300)"
      finish
    fi
    NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
    RTMP_SO=$(dpkg -L libnginx-mod-rtmp 2>/dev/null | grep -m1 '/ngx_rtmp_module\.so$' || true)
  else
    fail "setup/install" "nginx with libnginx-mod-rtmp is not installed; run as root: $INSTALL_CMD"
    finish
  fi
fi
if [ ! -x "$NGINX_BIN" ] || [ ! -f "$RTMP_SO" ]; then
  fail "setup/install" "nginx ($NGINX_BIN) or ngx_rtmp_module.so ($RTMP_SO) missing after install"
  finish
fi
if ! command -v ffmpeg >/dev/null; then fail "setup/ffmpeg" "ffmpeg not on PATH"; finish; fi
if [ ! -f dist/cmd/whepd/main.js ]; then fail "setup/build" "dist/cmd/whepd/main.js missing (run make build)"; finish; fi

RTMP_PORT=$(free_port)
HTTP_PORT=$(free_port)
while [ "$HTTP_PORT" = "$RTMP_PORT" ]; do HTTP_PORT=$(free_port); done
RTMP_URL="rtmp://127.0.0.1:$RTMP_PORT/live/cam"
BASE="http://127.0.0.1:$HTTP_PORT"

mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
cat >"$TMP/nginx/nginx.conf" <<EOF
load_module $RTMP_SO;
daemon off;
master_process off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log info;
events { worker_connections 256; }
rtmp {
  access_log $TMP/nginx/logs/access.log;
  server {
    listen 127.0.0.1:$RTMP_PORT;
    chunk_size 4096;
    application live {
      live on;
      record off;
    }
  }
}
EOF
# -p: a private prefix so nothing (logs, temp paths) falls back to /var/log/nginx or /etc/nginx.
"$NGINX_BIN" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" >"$TMP/nginx.out" 2>&1 &
NGINX_PID=$!
OWNED+=("$NGINX_PID")

wait_tcp() { # wait_tcp <port> <tenths>
  local i
  for i in $(seq 1 "$2"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
if wait_tcp "$RTMP_PORT" 50 && alive "$NGINX_PID"; then
  pass "nginx/listening" "127.0.0.1:$RTMP_PORT, pid $NGINX_PID"
else
  fail "nginx/listening" "nginx did not listen on 127.0.0.1:$RTMP_PORT within 5 s: $(cat "$TMP/nginx.out" "$TMP/nginx/logs/error.log" 2>/dev/null | tail -n 3 | tr '\n' ' ' | cut -c1-300)"
  finish
fi

# --- publisher --------------------------------------------------------------------------------
PUB_N=0
start_publisher() {
  PUB_N=$((PUB_N + 1))
  ffmpeg -hide_banner -nostdin -loglevel warning -re -stream_loop -1 -i fixtures/media/demo.mp4 \
    -c copy -f flv "$RTMP_URL" >"$TMP/publisher$PUB_N.out" 2>&1 &
  PUB_PID=$!
  OWNED+=("$PUB_PID")
}
start_publisher

# --- whepd --------------------------------------------------------------------------------------
EXTRA=
[ -n "${RTMP_INPUT_ARGS:-}" ] && EXTRA=", \"inputArgs\": $RTMP_INPUT_ARGS"
cat >"$TMP/config.json" <<EOF
{
  "http": { "listen": "127.0.0.1:$HTTP_PORT" },
  "webrtc": { "bindAddress": "127.0.0.1" },
  "ffmpeg": { "restartMinMs": 300, "restartMaxMs": 1000 },
  "streams": [ { "id": "cam", "input": "$RTMP_URL"$EXTRA } ]
}
EOF
node dist/cmd/whepd/main.js --config "$TMP/config.json" >"$TMP/whepd.log" 2>&1 &
WHEPD_PID=$!
OWNED+=("$WHEPD_PID")

code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$BASE$1" 2>/dev/null || true; }
# wait_ready <want status> <seconds>: polls /readyz every 0.2 s; prints the seconds it took.
wait_ready() {
  local want=$1 limit=$2 start now
  start=$(date +%s%N)
  while :; do
    [ "$(code /readyz)" = "$want" ] && { now=$(date +%s%N); echo "$(( (now - start) / 1000000 ))"; return 0; }
    alive "$WHEPD_PID" || return 1
    now=$(date +%s%N)
    [ $(( (now - start) / 1000000000 )) -ge "$limit" ] && return 1
    sleep 0.2
  done
}
viewers() {
  curl -s -m 2 "$BASE/metrics" 2>/dev/null | awk '$1 == "whepd_viewers{stream=\"cam\"}" { print $2 }'
}
whepd_tail() { tail -n 6 "$TMP/whepd.log" | tr '\n' ' ' | cut -c1-1500; }

if ms=$(wait_ready 200 30); then
  pass "ready" "/readyz 200 after ${ms} ms"
else
  fail "ready" "/readyz not 200 within 30 s (now $(code /readyz)); publisher alive: $(alive "$PUB_PID" && echo yes || echo no); whepd: $(whepd_tail)"
  finish
fi

# media_flow <label> [options]: runs e2e/media-flow.ts in the background; sets MF_PID.
media_flow() {
  local label=$1
  shift
  node --import=tsx e2e/media-flow.ts "$BASE" cam --name "rtmp/$label" "$@" >"$TMP/$label.out" 2>&1 &
  MF_PID=$!
  OWNED+=("$MF_PID")
}
# media_flow_wait <label> <pid> <seconds>: bounded wait, then echoes the client's PASS/FAIL lines.
media_flow_wait() {
  local label=$1 pid=$2 i rc p f
  for i in $(seq 1 $(($3 * 10))); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    echo "FAIL rtmp/$label/hung: still running after $3 s; killed" >>"$TMP/$label.out"
  fi
  wait "$pid" 2>/dev/null
  rc=$?
  grep -E '^(PASS|FAIL) ' "$TMP/$label.out"
  p=$(grep -c '^PASS ' "$TMP/$label.out" || true)
  f=$(grep -c '^FAIL ' "$TMP/$label.out" || true)
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    if [ "$rc" -gt 128 ] && grep -qE "^rtmp/$label: [0-9]+ passed, 0 failed$" "$TMP/$label.out"; then
      note "$label died by signal $((rc - 128)) after printing its results (node-datachannel teardown); results kept"
    else
      fail "$label/exit" "exited $rc without a FAIL line: $(tail -n 3 "$TMP/$label.out" | tr '\n' ' ' | cut -c1-300)"
    fi
  fi
}

# --- 1: media through the core, with a viewer held for the publisher-stop check -------------
media_flow client --hold-ms 40000
CLIENT_PID=$MF_PID
held=0
for i in $(seq 1 450); do
  grep -q '^HOLDING' "$TMP/client.out" 2>/dev/null && { held=1; break; }
  alive "$CLIENT_PID" || break
  sleep 0.1
done
if [ "$held" = 1 ]; then
  v=$(viewers)
  if [ "${v:-x}" = 1 ]; then pass "viewer-counted" "whepd_viewers{stream=\"cam\"} 1"; else fail "viewer-counted" "whepd_viewers{stream=\"cam\"} is '${v:-missing}', want 1"; fi
else
  fail "client/holding" "the client did not reach HOLDING within 45 s"
fi

# --- 2: the publisher stops -------------------------------------------------------------------
stop "$PUB_PID"
note "publisher stopped"
T0=$(date +%s%N)
# Bounded and generous: the stall timeout (10 s) plus stopGraceMs (2 s) and a monitor tick took
# 12.4-14.1 s in 27 clean-clone runs, and 19.3 s once (2026-12-01, quiet); a 15 s bound measured
# the machine. The time is in the line either way.
if ms=$(wait_ready 503 30); then
  pass "publisher-gone/not-ready" "/readyz 503 ${ms} ms after the publisher stopped"
else
  fail "publisher-gone/not-ready" "/readyz still $(code /readyz) 30 s after the publisher stopped; whepd: $(whepd_tail)"
fi
if [ "$held" = 1 ]; then
  v=
  for i in $(seq 1 100); do
    v=$(viewers)
    [ "$v" = 0 ] && break
    sleep 0.1
  done
  if [ "$v" = 0 ]; then
    pass "publisher-gone/viewer-dropped" "whepd_viewers{stream=\"cam\"} 0 after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
  else
    fail "publisher-gone/viewer-dropped" "whepd_viewers{stream=\"cam\"} still '${v:-missing}' $(( ($(date +%s%N) - T0) / 1000000 )) ms after the publisher stopped"
  fi
  st=$(code /whep/cam)
  note "GET /whep/cam while the publisher is gone: $st"
fi
media_flow_wait client "$CLIENT_PID" 60
info=$(grep -m1 '^INFO ' "$TMP/client.out" || true)
[ -n "$info" ] && note "held client: ${info#INFO }"

# --- 3: the publisher comes back ----------------------------------------------------------------
start_publisher
if ms=$(wait_ready 200 20); then
  pass "publisher-back/ready" "/readyz 200 ${ms} ms after the publisher restarted"
else
  fail "publisher-back/ready" "/readyz still $(code /readyz) 20 s after the publisher restarted; publisher alive: $(alive "$PUB_PID" && echo yes || echo no); whepd: $(whepd_tail)"
fi
media_flow client-again
media_flow_wait client-again "$MF_PID" 75

if alive "$WHEPD_PID"; then pass "whepd/alive"; else fail "whepd/alive" "whepd exited: $(whepd_tail)"; fi
restarts=$(curl -s -m 2 "$BASE/metrics" 2>/dev/null | grep -E '^whepd_ffmpeg_restarts' | tr '\n' ' ')
note "ffmpeg restarts metric: ${restarts:-n/a}"
finish
