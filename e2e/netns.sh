# Helpers for the e2e suites that build network namespaces (e2e/gst, e2e/nat, e2e/turn). Sourced,
# not run: `. e2e/netns.sh` from the repo root. Only ever given PIDs and namespaces the sourcing
# script made itself.

# stop <pid>: SIGTERM, a bounded wait (5 s), SIGKILL, reap.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# netns_add <ns>...: creates each namespace with lo up and IPv4 only (no link-local IPv6
# candidates that could go around the NAT or the filters a suite sets up).
netns_add() {
  local ns
  for ns in "$@"; do
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$ns" ip link set lo up
  done
}

# netns_delete <ns>...: deletes each namespace that exists (for cleanup traps).
netns_delete() {
  local ns
  for ns in "$@"; do ip netns delete "$ns" 2>/dev/null || true; done
}

# wait_live <ns> <endpoint> <pid> <headers file> [tries]: from inside <ns>, POSTs the captured
# Chromium offer to <endpoint> every 0.25 s (at most [tries] times, default 80: 20 s) until whepd
# answers 201 (the stream is live), then DELETEs that session. Gives up early when <pid> (whepd)
# is gone. The last POST's headers stay in <headers file>, its status in LIVE_CODE; returns 1
# without a 201.
wait_live() {
  local ns=$1 endpoint=$2 pid=$3 headers=$4 tries=${5:-80} loc origin
  origin=$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$endpoint")
  LIVE_CODE=""
  for _ in $(seq 1 "$tries"); do
    LIVE_CODE=$(ip netns exec "$ns" curl -s --max-time 2 -o /dev/null -D "$headers" -w '%{http_code}' -X POST \
      -H 'Content-Type: application/sdp' --data-binary @fixtures/offers/chromium-recvonly.sdp "$endpoint" || true)
    if [ "$LIVE_CODE" = 201 ]; then
      loc=$(grep -i '^location:' "$headers" | tr -d '\r' | sed -E 's/^[^:]*:[[:space:]]*//')
      ip netns exec "$ns" curl -s --max-time 2 -o /dev/null -X DELETE "$origin$loc" || true
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  return 1
}
