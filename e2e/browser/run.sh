#!/usr/bin/env bash
# Browser end-to-end checks: headless Chromium (Debian package, driven by playwright-core) against
# the real whepd binary, inside a network namespace that has only `lo` when run as root. Two scripts,
# one after the other: driver.ts (player, bare peers, time to first frame, failures; <= 300 s) and
# av-sync.ts (steady-state lip sync of three inputs; <= 480 s: about 130 s, up to 3 windows each).
# Prints their PASS/FAIL lines and ends with "browser: N passed, N failed" (both scripts added up);
# exits non-zero on any FAIL.
# Needs a build first: npx tsc -p tsconfig.json && npx tsc -p internal/player/client/tsconfig.json
# Environment: CHROMIUM (default /usr/bin/chromium), WHEPD_MAIN (default dist/cmd/whepd/main.js),
# E2E_PORT (default 18890; the cap check uses +1, av-sync.ts +5 and +6), PERF_DOC (default
# docs/performance.md), E2E_SHARDS (webrtc.shards of the whepd under test, default 0),
# AV_SYNC_REFERENCE=1 (av-sync.ts also measures a plain <video> playing the file, as a cross-check).
set -uo pipefail
cd "$(dirname "$0")/../.."

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
fail() {
  echo "browser: $1"
  echo "browser: 0 passed, 1 failed"
  exit 1
}

if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "browser: $CHROMIUM is missing; installing the Debian package chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium ||
      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } ||
      fail "could not install chromium (apt-get install -y chromium failed)"
  else
    fail "$CHROMIUM is missing. Install it with: sudo apt-get install -y chromium"
  fi
fi
[ -f node_modules/playwright-core/package.json ] || fail "playwright-core is missing. Run: npm ci"
[ -f dist/cmd/whepd/main.js ] || fail "whepd is not built. Run: npx tsc -p tsconfig.json"
[ -f dist/player/player.mjs ] || fail "the player is not built. Run: npx tsc -p internal/player/client/tsconfig.json"

# Only lo in the namespace: nothing the browser or whepd does can leave the machine, and Chromium
# gathers loopback candidates only.
ns=""
prefix=()
parts=$(mktemp -d)
trap '[ -z "$ns" ] || ip netns delete "$ns" 2>/dev/null; rm -rf "$parts"' EXIT
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add "whepd-e2e-$$" 2>/dev/null; then
  ns="whepd-e2e-$$"
  if ip netns exec "$ns" ip link set lo up; then
    prefix=(ip netns exec "$ns")
  else
    echo "browser: could not bring up lo in $ns; running without a network namespace"
    ip netns delete "$ns" 2>/dev/null
    ns=""
  fi
else
  echo "browser: not root or 'ip netns' unavailable: running without a network namespace (everything still binds 127.0.0.1)"
fi

# part <label> <limit in s> <script>: runs one script in the namespace under a time limit, its output
# shown as it comes and kept in $parts/<label>.out. An exit that is not explained by a FAIL line
# becomes one (a crash after the script printed "browser <label>: N passed, 0 failed" only a note).
part() {
  local label=$1 limit=$2 script=$3 out="$parts/$1.out" pid rc
  # Created before the job starts: tail -f on a file that does not exist yet gives up at once.
  : >"$out"
  timeout --kill-after=15 "$limit" "${prefix[@]}" env E2E_NETNS="$ns" node --import tsx "$script" >"$out" 2>&1 &
  pid=$!
  tail -n +1 --pid="$pid" -f "$out"
  wait "$pid"
  rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "FAIL browser $label: hit the $limit s limit" | tee -a "$out"
  elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
    if [ "$rc" -gt 128 ] && grep -qE "^browser $label: [0-9]+ passed, 0 failed$" "$out"; then
      echo "browser: $label died by signal $((rc - 128)) after printing its results; results kept"
    else
      echo "FAIL browser $label: exited $rc without reporting a FAIL" | tee -a "$out"
    fi
  fi
}

started=$(date +%s)
part driver 300 e2e/browser/driver.ts
part av-sync 480 e2e/browser/av-sync.ts
echo "browser: run took $(($(date +%s) - started)) s"
passed=$(cat "$parts"/*.out | grep -c '^PASS ')
failed=$(cat "$parts"/*.out | grep -c '^FAIL ')
echo "browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
