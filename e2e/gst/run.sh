#!/usr/bin/env bash
# GStreamer webrtcbin against the real whepd binary: e2e/gst/whep-client.py (max-bundle offer,
# H264 and Opus decoded) four times: audio-first and video-first m-lines, each non-trickle and trickle.
# Prints `PASS gst/<order>/<mode> (...)` / `FAIL gst/<order>/<mode>: reason` and ends with
# "gst: N passed, N failed"; exits 1 on any FAIL. Takes about 30 s.
#
# Network: libnice gathers no candidates on loopback interfaces and binds each socket to its
# interface (IP_UNICAST_IF), so a session over `lo` alone never connects. A network namespace is
# made with `lo` and a veth pair whose ends both stay inside it; one end, gst0, gets 127.0.0.2/32
# (IPv6 off, so no link-local addresses). whepd runs in the namespace too: HTTP on 127.0.0.1 and
# webrtc.bindAddress 127.0.0.2, the address on gst0, so the client's checks bound to gst0 reach it
# (the kernel delivers to a local address of the interface itself). Nothing can leave the
# namespace, which is deleted on exit, also after a failure. Needs root (ip netns); otherwise a
# SKIP line says so.
#
# Environment: WHEPD_MAIN (default dist/cmd/whepd/main.js), GST_SAVE_OFFERS=<dir> (write each
# offer there as gstreamer-max-bundle-<order>[-trickle].sdp), E2E_KEEP=1 (keep the logs).
set -uo pipefail
cd "$(dirname "$0")/../.."
. e2e/netns.sh

WHEPD_MAIN=${WHEPD_MAIN:-dist/cmd/whepd/main.js}
PORT=8889 # inside a fresh namespace every port is free
passed=0
failed=0
pass() { echo "PASS gst/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL gst/$1: $2"; failed=$((failed + 1)); }
summary() { echo "gst: $passed passed, $failed failed"; }

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP gst: libnice ignores loopback interfaces, so this check needs a network namespace (root and iproute2). Run: sudo make e2e"
  summary
  exit 0
fi
if ! scripts/ensure-gstreamer.sh; then
  fail setup "GStreamer is not usable (see the line above for the command that installs it)"
  summary
  exit 1
fi
[ -f "$WHEPD_MAIN" ] || { fail setup "$WHEPD_MAIN is missing: run npx tsc -p tsconfig.json"; summary; exit 1; }

ns="whepd-gst-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/whepd-gst.XXXXXX")
wpid=""
cpid=""
cleanup() {
  [ -z "$cpid" ] || kill -TERM "$cpid" 2>/dev/null
  [ -z "$wpid" ] || stop "$wpid"
  netns_delete "$ns"
  if [ "${E2E_KEEP:-}" = 1 ]; then echo "gst: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { ip netns exec "$ns" "$@"; }
if ! netns_add "$ns" ||
  ! in_ns ip link add gst0 type veth peer name gst1 ||
  ! in_ns ip addr add 127.0.0.2/32 dev gst0 ||
  ! in_ns ip link set gst0 up || ! in_ns ip link set gst1 up; then
  fail setup "could not set up network namespace $ns"
  summary
  exit 1
fi

cat >"$tmp/whepd.json" <<EOF
{
  "http": { "listen": "127.0.0.1:$PORT" },
  "webrtc": { "bindAddress": "127.0.0.2" },
  "log": { "level": "info" },
  "streams": [ { "id": "demo", "input": "fixtures/media/demo.mp4", "loop": true } ]
}
EOF
# `ip netns exec` execs its command, so $! is whepd itself (a shell function here would fork).
ip netns exec "$ns" node "$WHEPD_MAIN" --config "$tmp/whepd.json" >"$tmp/whepd.log" 2>&1 &
wpid=$!
BASE="http://127.0.0.1:$PORT"
# Live once a POST is not 409 (the stream has a keyframe); bounded at 15 s.
if ! wait_live "$ns" "$BASE/whep/demo" "$wpid" "$tmp/probe.h" 60; then
  fail whepd-live "stream demo not live within 15 s in $ns (last POST $LIVE_CODE); log: $(tail -n 3 "$tmp/whepd.log" | tr '\n' ' ' | cut -c1-300)"
  summary
  exit 1
fi

# client <order> <mode>: one run, bounded at 40 s; the client's JSON line becomes PASS or FAIL.
client() {
  local order=$1 mode=$2 name="$1/$2" args=() out rc json
  [ "$mode" = trickle ] && args+=(--trickle)
  if [ -n "${GST_SAVE_OFFERS:-}" ]; then
    args+=(--save-offer "$GST_SAVE_OFFERS/gstreamer-max-bundle-$order$([ "$mode" = trickle ] && echo -trickle).sdp")
  fi
  out="$tmp/${order}-${mode}"
  rc=0
  # In the background and waited for, so a SIGTERM to this script is handled at once (cleanup
  # ends the client: $! is timeout itself, which passes the signal on).
  ip netns exec "$ns" timeout -k 5 40 /usr/bin/python3 e2e/gst/whep-client.py "$BASE/whep/demo" --order "$order" "${args[@]}" \
    >"$out.json" 2>"$out.err" &
  cpid=$!
  wait "$cpid" || rc=$?
  cpid=""
  json=$(grep '^{' "$out.json" | tail -n 1)
  if [ "$rc" = 0 ] && [ -n "$json" ]; then
    pass "$name ($(/usr/bin/python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("first frame %s ms after POST, %s fps, %s audio samples/s, PATCH %s" % (r["ttff_ms"], r["fps"], r["audio_samples_per_s"], r["patch_statuses"] or "none"))' "$json"))"
  else
    fail "$name" "exit $rc; ${json:-no JSON line}; stderr: $(grep -v SSDP "$out.err" | tail -n 3 | tr '\n' ' ' | cut -c1-300)"
  fi
  echo "  $json"
}

started=$(date +%s)
client audio-first non-trickle
client video-first non-trickle
client audio-first trickle
client video-first trickle
echo "gst: clients took $(($(date +%s) - started)) s"
summary
[ "$failed" -eq 0 ]
