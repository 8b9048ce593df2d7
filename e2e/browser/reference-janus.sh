#!/usr/bin/env bash
# Issue 11's reference measurement (not part of `make e2e`): whepd and Janus measured by the same
# lip-sync harness, alternating (e2e/browser/av-sync-reference-janus.ts). As root, inside a network
# namespace like run.sh's, with one addition: Janus never gathers ICE candidates on a loopback
# interface, so the namespace also has a veth pair (both ends inside it; this kernel has no dummy links) with
# 10.99.0.1/24 on one end (local traffic to it still goes through the kernel's loopback path;
# nothing leaves the namespace). whepd runs in the
# same namespace, so both are measured with the same interfaces.
# Needs: the Debian packages janus and chromium, and a build (see run.sh).
# Environment: as av-sync-reference-janus.ts (REF_INPUTS, REF_ROUNDS, REF_SERVERS, REF_OUT, E2E_PORT).
# Time: about 50 s per input per server per round (3 rounds of 2 inputs on 2 servers: about 10 min).
set -uo pipefail
cd "$(dirname "$0")/../.."

command -v janus >/dev/null || { echo "reference: janus is missing. Install it with: sudo apt-get install -y janus"; exit 1; }
[ -f dist/cmd/whepd/main.js ] || { echo "reference: whepd is not built. Run: npx tsc -p tsconfig.json"; exit 1; }
[ -f dist/player/player.mjs ] || { echo "reference: the player is not built. Run: npx tsc -p internal/player/client/tsconfig.json"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "reference: needs root for its network namespace"; exit 1; }

ns="whepd-ref-$$"
trap 'ip netns delete "$ns" 2>/dev/null' EXIT
ip netns add "$ns" || exit 1
ip netns exec "$ns" ip link set lo up || exit 1
ip netns exec "$ns" ip link add ref0 type veth peer name ref1 || exit 1
ip netns exec "$ns" ip addr add 10.99.0.1/24 dev ref0 || exit 1
ip netns exec "$ns" ip link set ref0 up || exit 1
ip netns exec "$ns" ip link set ref1 up || exit 1

# Rounds are bounded by REF_ROUNDS (at most 10); the limit covers 10 rounds of 3 inputs on 2 servers.
timeout --kill-after=15 3600 ip netns exec "$ns" env E2E_NETNS="$ns" JANUS_ICE_ADDRESS=10.99.0.1 node --import tsx e2e/browser/av-sync-reference-janus.ts
