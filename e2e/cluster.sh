#!/usr/bin/env bash
# e2e: three whepd instances behind HAProxy with the shipped deploy/haproxy.cfg (issue 16).
#
#   bash e2e/cluster.sh            (as root: it creates a network namespace)
#
# Creates its own network namespace (whepd-cl-<pid>) whose loopback carries addresses in 10.77.0.0/24
# (a dummy or veth interface needs kernel modules a container may lack; every address is local):
# HAProxy on 10.77.0.1:8080, the nginx-rtmp core (the origin, as e2e/rtmp-core.sh runs it) on
# 10.77.0.10, whepd1..3 on 10.77.0.11..13 (HTTP 8889, agent 8890, ICE on the same address; one
# onDemand stream, viewersTotal 30 each), viewers on 10.77.0.100. Then e2e/cluster.ts runs the
# scenario. Prints `PASS cluster/...` / `FAIL cluster/...` lines and `cluster: N passed, N failed`;
# exits non-zero on any FAIL. Missing HAProxy or nginx-rtmp is installed with apt-get when root;
# otherwise (and without root or `ip netns`) it FAILs naming the command to run: never a silent pass.
# Every process it starts lives in the namespace and is ended by PID; the namespace is removed on
# exit, also on failure or interruption.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

NS=whepd-cl-$$
NET=10.77.0
TOKEN=cluster-e2e-admin-token-0123456789
if [ "${1:-}" != --inner ]; then
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/whepd-cluster.XXXXXX")
  trap 'rm -rf "$TMP"' EXIT
fi
setup_fail() {
  echo "FAIL cluster/setup: $1"
  echo "cluster: 0 passed, 1 failed"
  exit 1
}

# --- inner part: runs inside the namespace ------------------------------------------------------
if [ "${1:-}" = --inner ]; then
  TMP=$2
  OWNED=()
  alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
  stop() { # stop <pid>: SIGTERM, up to 3 s, then SIGKILL; reaps it
    alive "$1" || { wait "$1" 2>/dev/null; return 0; }
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 1 30); do alive "$1" || break; sleep 0.1; done
    alive "$1" && kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
  }
  cleanup() { local p; for p in "${OWNED[@]}"; do stop "$p"; done; }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  wait_tcp() { # wait_tcp <host> <port> <tenths>
    for _ in $(seq 1 "$3"); do (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.1; done
    return 1
  }

  mkdir -p "$TMP/nginx/logs"
  cat >"$TMP/nginx/nginx.conf" <<EOF
load_module $RTMP_SO;
daemon off;
master_process off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log info;
events { worker_connections 256; }
rtmp { server { listen $NET.10:1935; chunk_size 4096; application live { live on; record off; } } }
EOF
  "$NGINX_BIN" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" >"$TMP/nginx.out" 2>&1 &
  OWNED+=("$!")
  wait_tcp $NET.10 1935 50 || setup_fail "nginx-rtmp did not listen on $NET.10:1935: $(tail -n 3 "$TMP/nginx/logs/error.log" | tr '\n' ' ')"
  ffmpeg -hide_banner -nostdin -loglevel warning -re -stream_loop -1 -i fixtures/media/demo.mp4 -c copy -f flv \
    "rtmp://$NET.10:1935/live/cam" >"$TMP/publisher.out" 2>&1 &
  OWNED+=("$!")

  INSTANCES=()
  for n in 1 2 3; do
    ip=$NET.1$n
    # rateLimit off: behind HAProxy every request comes from HAProxy's address (docs/scale-out.md).
    # startTimeoutS 30: the first POST waits for FFmpeg, and probing the RTMP origin took 10 s here.
    cat >"$TMP/whepd$n.json" <<EOF
{
  "http": { "listen": "$ip:8889" },
  "webrtc": { "bindAddress": "$ip" },
  "limits": { "viewersPerStream": 30, "viewersTotal": 30, "pendingSessions": 16 },
  "rateLimit": { "perSecond": 0 },
  "admin": { "token": "$TOKEN" },
  "cluster": { "agentPort": 8890 },
  "log": { "level": "info" },
  "streams": [ { "id": "cam", "input": "rtmp://$NET.10:1935/live/cam", "onDemand": true, "startTimeoutS": 30, "idleTimeoutS": 60 } ]
}
EOF
    node dist/cmd/whepd/main.js --config "$TMP/whepd$n.json" >"$TMP/whepd$n.log" 2>&1 &
    pid=$!
    OWNED+=("$pid")
    INSTANCES+=(--instance "whepd$n=http://$ip:8889=$pid")
    eval "WHEPD${n}_PID=$pid"
  done
  for n in 1 2 3; do
    wait_tcp $NET.1$n 8889 100 || setup_fail "whepd$n did not listen on $NET.1$n:8889: $(tail -n 3 "$TMP/whepd$n.log" | tr '\n' ' ' | cut -c1-300)"
  done
  # The shipped file as it is; only its variables are set (HAProxy expands them at parse time).
  WHEPD1=$NET.11:8889 WHEPD2=$NET.12:8889 WHEPD3=$NET.13:8889 WHEPD1_AGENT=8890 WHEPD2_AGENT=8890 WHEPD3_AGENT=8890 \
    HAPROXY_BIND=$NET.1:8080 HAPROXY_STATS_SOCKET=$TMP/haproxy.sock \
    haproxy -db -f deploy/haproxy.cfg >"$TMP/haproxy.log" 2>&1 &
  OWNED+=("$!")
  wait_tcp $NET.1 8080 50 || setup_fail "HAProxy did not listen on $NET.1:8080: $(tail -n 3 "$TMP/haproxy.log" | tr '\n' ' ')"

  # bash reports a background job killed by a signal ("Killed") on its stderr as soon as the next
  # foreground command ends: whepd1's SIGKILL is the scenario's own, so the shell's stderr is
  # parked while it runs (cluster.ts's own stderr goes to a file).
  exec 3>&2 2>/dev/null
  timeout 300 node --import=tsx e2e/cluster.ts --lb "http://$NET.1:8080" --stream cam --token "$TOKEN" \
    --bind $NET.100 --socket "$TMP/haproxy.sock" "${INSTANCES[@]}" 2>"$TMP/cluster.err"
  rc=$?
  exec 2>&3 3>&-
  [ -s "$TMP/cluster.err" ] && sed 's/^/# cluster.ts stderr: /' "$TMP/cluster.err" | tail -n 5
  # whepd1 was SIGKILLed by the scenario: reap it here.
  if ! alive "$WHEPD1_PID"; then
    wait "$WHEPD1_PID"
    echo "# whepd1 exited with status $? (137: the scenario's SIGKILL)"
  fi
  # The others must still run, and SIGTERM ends them with 0.
  for n in 2 3; do
    pid_var="WHEPD${n}_PID"
    pid=${!pid_var}
    if ! alive "$pid"; then echo "FAIL cluster/whepd$n-alive: exited during the test: $(tail -n 3 "$TMP/whepd$n.log" | tr '\n' ' ' | cut -c1-300)"; rc=1; continue; fi
    kill -TERM "$pid"
    for _ in $(seq 1 60); do alive "$pid" || break; sleep 0.1; done
    wait "$pid" 2>/dev/null
    code=$?
    if alive "$pid"; then echo "FAIL cluster/whepd$n-sigterm: still running 6 s after SIGTERM"; rc=1; else echo "PASS cluster/whepd$n-sigterm-exit ($code)"; fi
  done
  echo "# haproxy: $(grep -c ' whepd/' "$TMP/haproxy.log") requests logged; server events: $(grep -E 'is (DOWN|UP|DRAIN)|DRAIN|agent' "$TMP/haproxy.log" | cut -c1-140 | tr '\n' '|' | cut -c1-600)"
  exit "$rc"
fi

# --- outer part: prerequisites, the namespace, cleanup -------------------------------------------
[ -f dist/cmd/whepd/main.js ] || setup_fail "dist/cmd/whepd/main.js missing (make build)"
# `whepd check` names a bad cluster value by its JSON path and exits 2 (no namespace needed).
echo '{ "http": { "listen": "127.0.0.1:8889" }, "cluster": { "agentPort": 8889, "drainTimeoutS": -1 }, "streams": [ { "id": "x", "input": "x.mp4" } ] }' >"$TMP/bad.json"
OUTER_FAILED=0
rc=0
node dist/cmd/whepd/main.js check "$TMP/bad.json" >"$TMP/check.out" 2>&1 || rc=$?
if [ "$rc" = 2 ] && grep -q '/cluster/agentPort' "$TMP/check.out" && grep -q '/cluster/drainTimeoutS' "$TMP/check.out"; then
  echo "PASS cluster/check-bad-cluster-config-exit-2"
else
  OUTER_FAILED=1
  echo "FAIL cluster/check-bad-cluster-config-exit-2: exit $rc: $(tr '\n' ' ' <"$TMP/check.out" | cut -c1-300)"
fi
command -v ffmpeg >/dev/null || setup_fail "ffmpeg not on PATH (make tools)"
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  setup_fail "needs root and iproute2 ('ip netns') to create its network namespace; run: sudo bash e2e/cluster.sh"
fi
NGINX_BIN=$(command -v nginx || true)
[ -z "$NGINX_BIN" ] && [ -x /usr/sbin/nginx ] && NGINX_BIN=/usr/sbin/nginx
RTMP_SO=$(dpkg -L libnginx-mod-rtmp 2>/dev/null | grep -m1 '/ngx_rtmp_module\.so$' || true)
PKGS=()
command -v haproxy >/dev/null || PKGS+=(haproxy)
if [ -z "$NGINX_BIN" ] || [ -z "$RTMP_SO" ]; then
  if apt-cache policy nginx-light 2>/dev/null | grep -q 'Candidate: [0-9]'; then PKGS+=(nginx-light); else PKGS+=(nginx); fi
  PKGS+=(libnginx-mod-rtmp)
fi
if [ "${#PKGS[@]}" -gt 0 ]; then
  INSTALL_CMD="apt-get install -y --no-install-recommends ${PKGS[*]}"
  echo "# installing: $INSTALL_CMD"
  # RUNLEVEL=1: the packages' postinst must not start the system haproxy or nginx service.
  if ! RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive timeout 180 $INSTALL_CMD >"$TMP/apt.out" 2>&1; then
    setup_fail "'$INSTALL_CMD' failed: $(tail -n 3 "$TMP/apt.out" | tr '\n' ' ' | cut -c1-300)"
  fi
  NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
  RTMP_SO=$(dpkg -L libnginx-mod-rtmp 2>/dev/null | grep -m1 '/ngx_rtmp_module\.so$' || true)
fi
command -v haproxy >/dev/null || setup_fail "haproxy missing after install"
[ -x "$NGINX_BIN" ] && [ -f "$RTMP_SO" ] || setup_fail "nginx ($NGINX_BIN) or ngx_rtmp_module.so ($RTMP_SO) missing after install"

cleanup_ns() {
  local pid
  # Only processes inside our own namespace: the inner script and everything it started.
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 30); do [ -z "$(ip netns pids "$NS" 2>/dev/null)" ] && break; sleep 0.1; done
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  ip netns delete "$NS" 2>/dev/null
  [ "${E2E_KEEP:-}" = 1 ] && echo "# cluster: kept $TMP" || rm -rf "$TMP"
}
trap cleanup_ns EXIT
trap 'exit 130' INT TERM
ns_up() {
  local a
  ip netns add "$NS" && ip -n "$NS" link set lo up || return 1
  for a in 1 10 11 12 13 100; do ip -n "$NS" addr add "$NET.$a/32" dev lo || return 1; done
}
ns_up || setup_fail "could not create namespace $NS with $NET.0/24 on its loopback"

T0=$(date +%s)
NGINX_BIN=$NGINX_BIN RTMP_SO=$RTMP_SO ip netns exec "$NS" bash "$ROOT/e2e/cluster.sh" --inner "$TMP" &
INNER=$!
wait "$INNER"
rc=$?
echo "# cluster: took $(($(date +%s) - T0)) s"
[ "$OUTER_FAILED" = 0 ] || rc=1
exit "$rc"
