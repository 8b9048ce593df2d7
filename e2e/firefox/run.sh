#!/usr/bin/env bash
# Firefox against the real whepd binary: e2e/firefox/driver.ts drives Debian's firefox-esr
# (headless, puppeteer-core over WebDriver BiDi, a temp profile) through whepd's player page, with
# a complete offer and with trickle ICE. firefox-esr has no H264 (Debian ships no OpenH264), so it
# needs whepd's VP8 fallback (issue 13 item 4). Prints `PASS firefox/<check> ...` /
# `FAIL firefox/<check>: reason`, `  note:` lines, and ends with "firefox: N passed, N failed";
# exits 1 on any FAIL. The driver is bounded to 100 s (it takes 17-40 s here).
#
# Network: the driver, Firefox and whepd run in a network namespace made here, with only `lo`.
# Firefox gathers nothing without a default route (its ICE gathering never starts: the state stays
# "new"), and never gathers a 127.0.0.1 host candidate, with media.peerconnection.ice.loopback or
# without. So `lo` also gets 10.77.4.1/32 and `default dev lo`: Firefox then gathers a UDP host
# candidate on 10.77.4.1, and whepd binds its peers there (webrtc.bindAddress; HTTP stays on
# 127.0.0.1, a secure context). Firefox does not connect to a whepd whose peers are on 127.0.0.1.
# With the default route on lo, anything addressed elsewhere comes back to the namespace itself:
# nothing can leave it. IPv6 is off. The namespace is deleted on exit, also after a failure or a
# signal, after every process still in it (all started here) is ended by PID.
#
# Needs root (ip netns); otherwise a SKIP line says so. firefox-esr comes from
# scripts/ensure-firefox.sh (apt-get when root); when it cannot be had every check FAILs.
# Environment: FIREFOX (default /usr/bin/firefox-esr), WHEPD_MAIN (default dist/cmd/whepd/main.js),
# FIREFOX_SAVE_OFFERS=<dir> (write the offers Firefox POSTed there), E2E_KEEP=1 (keep the logs).
set -uo pipefail
cd "$(dirname "$0")/../.."

CHECKS=(offer-has-no-h264 gathers-host-candidate vp8-decodes audio-decodes trickle)
ICE_ADDRESS=10.77.4.1
passed=0
failed=0
summary() { echo "firefox: $passed passed, $failed failed"; }
# fail_all <reason>: the checks could not run; each says so (never a silent skip).
fail_all() {
  local c
  for c in "${CHECKS[@]}"; do echo "FAIL firefox/$c: not run: $1"; done
  failed=$((failed + ${#CHECKS[@]}))
  summary
  exit 1
}

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP firefox: Firefox gathers no usable candidate on loopback alone, so this check needs a network namespace (root and iproute2). Run: sudo make e2e"
  summary
  exit 0
fi
# ensure-firefox.sh says on stderr that it installs, or the command to run: shown, and the last
# line becomes the reason of the FAIL lines.
err="${TMPDIR:-/tmp}/whepd-ensure-firefox.$$"
version=$(scripts/ensure-firefox.sh 2>"$err")
ok=$?
cat "$err"
why=$(tail -n 1 "$err")
rm -f "$err"
[ "$ok" -eq 0 ] || fail_all "${why:-firefox-esr is missing and could not be installed}"
[ -f node_modules/puppeteer-core/package.json ] || fail_all "puppeteer-core is missing: run npm ci"
[ -f "${WHEPD_MAIN:-dist/cmd/whepd/main.js}" ] || fail_all "whepd is not built: run npx tsc -p tsconfig.json"
[ -f dist/player/player.mjs ] || fail_all "the player is not built: run npx tsc -p internal/player/client/tsconfig.json"

ns="whepd-ff-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/whepd-firefox.XXXXXX")
dpid=""
tpid=""
# stop_ns: every process in the namespace was started by this script (the driver, Firefox and its
# content processes, whepd, FFmpeg); SIGTERM them by PID, wait (5 s), then SIGKILL what is left.
stop_ns() {
  local pids
  pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null
  for _ in $(seq 1 50); do
    [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] || return 0
    sleep 0.1
  done
  pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
}
cleanup() {
  [ -z "$dpid" ] || kill -TERM "$dpid" 2>/dev/null
  [ -z "$tpid" ] || kill -TERM "$tpid" 2>/dev/null
  stop_ns
  [ -z "$dpid" ] || wait "$dpid" 2>/dev/null
  ip netns delete "$ns" 2>/dev/null
  if [ "${E2E_KEEP:-}" = 1 ]; then echo "firefox: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { ip netns exec "$ns" "$@"; }
if ! ip netns add "$ns" ||
  ! in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1 ||
  ! in_ns ip link set lo up ||
  ! in_ns ip addr add "$ICE_ADDRESS/32" dev lo ||
  ! in_ns ip route add default dev lo; then
  fail_all "could not set up network namespace $ns"
fi

echo "firefox: $version, namespace $ns (lo: 127.0.0.1, $ICE_ADDRESS/32, default dev lo)"
started=$(date +%s)
mkdir -p "$tmp/firefox"
out="$tmp/driver.out"
: >"$out"
# The driver and the tail that shows its output both in the background, waited for with `wait`,
# so a signal to this script is handled at once (bash runs traps only between foreground commands).
# TMPDIR puts whepd's config and log (whepd-process.ts) in $tmp too.
timeout -k 10 100 ip netns exec "$ns" env TMPDIR="$tmp" FIREFOX_DIR="$tmp/firefox" E2E_ICE_ADDRESS="$ICE_ADDRESS" E2E_PORT=8889 \
  node --import tsx e2e/firefox/driver.ts >"$out" 2>&1 &
dpid=$!
tail -n +1 --pid="$dpid" -f "$out" &
tpid=$!
wait "$dpid"
rc=$?
dpid=""
wait "$tpid"
tpid=""
passed=$(grep -c '^PASS ' "$out")
failed=$(grep -c '^FAIL ' "$out")
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "FAIL firefox/driver: hit the 100 s limit"
  failed=$((failed + 1))
elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "FAIL firefox/driver: exited $rc without reporting a FAIL: $(tail -n 3 "$out" | tr '\n' ' ' | cut -c1-300)"
  failed=$((failed + 1))
fi
echo "firefox: run took $(($(date +%s) - started)) s"
summary
[ "$failed" -eq 0 ]
