#!/usr/bin/env bash
# Browser end-to-end checks: headless Chromium (Debian package, driven by playwright-core) against
# the real whepd binary, inside a network namespace that has only `lo` when run as root.
# Prints PASS/FAIL lines and ends with "browser: N passed, N failed"; exits non-zero on any FAIL.
# Needs a build first: npx tsc -p tsconfig.json && npx tsc -p internal/player/client/tsconfig.json
# Environment: CHROMIUM (default /usr/bin/chromium), WHEPD_MAIN (default dist/cmd/whepd/main.js),
# E2E_PORT (default 18890; the cap check uses +1), PERF_DOC (default docs/performance.md),
# E2E_SHARDS (webrtc.shards of the whepd under test, default 0).
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
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add "whepd-e2e-$$" 2>/dev/null; then
  ns="whepd-e2e-$$"
  trap 'ip netns delete "$ns" 2>/dev/null' EXIT
  if ip netns exec "$ns" ip link set lo up; then
    prefix=(ip netns exec "$ns")
  else
    echo "browser: could not bring up lo in $ns; running without a network namespace"
    ns=""
  fi
else
  echo "browser: not root or 'ip netns' unavailable: running without a network namespace (everything still binds 127.0.0.1)"
fi

started=$(date +%s)
timeout --kill-after=15 300 "${prefix[@]}" env E2E_NETNS="$ns" node --import tsx e2e/browser/driver.ts
rc=$?
echo "browser: run took $(($(date +%s) - started)) s"
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "browser: the driver hit the 300 s limit"
  echo "browser: 0 passed, 1 failed"
fi
exit "$rc"
