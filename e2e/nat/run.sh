#!/usr/bin/env bash
# whepd behind a real 1:1 NAT, in three network namespaces this script creates (issue 15 item 4):
#
#   srv     10.77.1.2/24 (s0)   whepd, default route via the router
#   nat     10.77.1.1/24 (n0)   the router: forwards, 1:1 NAT with nftables
#           203.0.113.1/24 and 203.0.113.10/24 (n1): dnat 203.0.113.10 -> 10.77.1.2, snat back
#   viewer  203.0.113.20/24 (v0) only the connected route (no way to 10.x), and a stateful input
#           filter like a home router's: established/related accepted, the rest dropped. Without
#           the filter a viewer with a public address connects anyway: whepd's checks from its
#           private address come out of the NAT as 203.0.113.10, and the viewer learns that as a
#           peer-reflexive candidate.
#
# Checks (each prints PASS nat/<name> or FAIL nat/<name>: reason, and "nat: N passed, N failed"):
#   advertised   advertisedAddresses [203.0.113.10], advertiseOnly, udpPort: a node-datachannel
#                viewer gets 201 and video and audio at full rate (time to first frame printed);
#                headless Chromium plays whepd's player page (http://203.0.113.10:8889/play/demo).
#   control      the same viewers against whepd without advertisedAddresses: no media (PASS when
#                they fail to connect, FAIL if they play).
#   one-port     NAT_VIEWERS (default 50) viewers through the NAT at once on the one udpPort, all
#                at full rate; whepd's process has one UDP socket for peers, on that port.
#
# Needs root (ip netns) and nft (Debian package nftables: installed with apt-get when root).
# Addresses are only 10.77.1.0/24 and 203.0.113.0/24 (TEST-NET-3), only inside these namespaces,
# which are deleted on exit (also after a failure or a signal); only PIDs started here are ended.
# Chromium (Debian package, with playwright-core) is optional: its two checks print SKIP without it.
# Takes about 70 s.
#
# Environment: WHEPD_MAIN (default dist/cmd/whepd/main.js), NAT_VIEWERS (default 50), CHROMIUM
# (default /usr/bin/chromium), NAT_NO_FIREWALL=1 (no filter in front of the viewer: the control
# then plays, through a peer-reflexive candidate, and FAILs; that is what the filter is for),
# E2E_KEEP=1 (keep the logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
. e2e/netns.sh

WHEPD_MAIN=${WHEPD_MAIN:-dist/cmd/whepd/main.js}
NAT_VIEWERS=${NAT_VIEWERS:-50}
HTTP_PORT=8889 # fresh namespaces: every port is free
UDP_PORT=8189
PUBLIC=203.0.113.10
passed=0
failed=0
pass() { echo "PASS nat/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL nat/$1: $2"; failed=$((failed + 1)); }
summary() { echo "nat: $passed passed, $failed failed"; }
note() { echo "  note: $*"; }

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP nat: needs root for network namespaces (ip netns, nftables). Run: sudo make e2e"
  summary
  exit 0
fi
if ! scripts/ensure-tool.sh nft nftables; then
  fail setup "nft is missing and could not be installed; run: sudo apt-get install -y nftables"
  summary
  exit 1
fi
[ -f "$WHEPD_MAIN" ] || { fail setup "$WHEPD_MAIN is missing: run npx tsc -p tsconfig.json"; summary; exit 1; }

tag=$$
NS_SRV="whepd-nat-srv-$tag"
NS_NAT="whepd-nat-nat-$tag"
NS_VIEW="whepd-nat-viewer-$tag"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/whepd-nat.XXXXXX")
wpid=""
cpid=""

cleanup() {
  set +e
  [ -z "$cpid" ] || stop "$cpid"
  [ -z "$wpid" ] || stop "$wpid"
  netns_delete "$NS_VIEW" "$NS_NAT" "$NS_SRV"
  if [ "${E2E_KEEP:-}" = 1 ]; then echo "nat: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_nat() { ip netns exec "$NS_NAT" "$@"; }
in_view() { ip netns exec "$NS_VIEW" "$@"; }

setup() {
  netns_add "$NS_SRV" "$NS_NAT" "$NS_VIEW"
  # The veth pairs are created inside the router namespace and one end moved, so nothing is ever
  # in the host's namespace (not even for a moment under a clashing name).
  in_nat ip link add n0 type veth peer name s0 netns "$NS_SRV"
  in_nat ip link add n1 type veth peer name v0 netns "$NS_VIEW"
  in_srv ip addr add 10.77.1.2/24 dev s0
  in_srv ip link set s0 up
  in_srv ip route add default via 10.77.1.1
  in_nat ip addr add 10.77.1.1/24 dev n0
  in_nat ip addr add 203.0.113.1/24 dev n1
  # The public address lives on the router (it answers ARP for it); prerouting DNAT rewrites it
  # before the routing decision, so nothing addressed to it is delivered to the router itself.
  in_nat ip addr add "$PUBLIC/24" dev n1
  in_nat ip link set n0 up
  in_nat ip link set n1 up
  in_nat sysctl -qw net.ipv4.ip_forward=1
  in_view ip addr add 203.0.113.20/24 dev v0
  in_view ip link set v0 up
  # 1:1 NAT: everything to the public address goes to whepd; whepd's own flows (its connectivity
  # checks to a viewer's host candidate) leave as the public address. Replies of either are
  # translated back by conntrack.
  in_nat nft -f - <<EOF
table ip nat {
  chain pre { type nat hook prerouting priority -100; ip daddr $PUBLIC dnat to 10.77.1.2; }
  chain post { type nat hook postrouting priority 100; oifname "n1" ip saddr 10.77.1.2 snat to $PUBLIC; }
}
EOF
  # The home router in front of the viewer: only answers to what the viewer sent get in.
  # NAT_NO_FIREWALL=1 leaves it out, to see the control play through a peer-reflexive candidate.
  [ "${NAT_NO_FIREWALL:-}" = 1 ] && return 0
  in_view nft -f - <<'EOF'
table inet home {
  chain input { type filter hook input priority 0; policy drop; iif "lo" accept; ct state established,related accept; }
}
EOF
}
if ! setup >"$tmp/setup.log" 2>&1; then
  fail setup "could not set up the namespaces: $(tail -n 3 "$tmp/setup.log" | tr '\n' ' ' | cut -c1-300)"
  summary
  exit 1
fi

# whepd_start <name> <webrtc JSON members>: whepd in srv, HTTP on 10.77.1.2:8889; waits (bounded,
# 20 s) until the viewer reaches it through the NAT and the stream is live (a POST that is not 409).
whepd_start() {
  local name=$1 webrtc=$2
  cat >"$tmp/$name.json" <<EOF
{
  "http": { "listen": "10.77.1.2:$HTTP_PORT" },
  "webrtc": { "bindAddress": "10.77.1.2"$webrtc },
  "limits": { "viewersPerStream": $((NAT_VIEWERS + 10)), "viewersTotal": $((NAT_VIEWERS + 10)) },
  "log": { "level": "info" },
  "streams": [ { "id": "demo", "input": "fixtures/media/demo.mp4", "loop": true } ]
}
EOF
  # `ip netns exec` execs its command, so $! is whepd itself.
  ip netns exec "$NS_SRV" node "$WHEPD_MAIN" --config "$tmp/$name.json" >"$tmp/$name.log" 2>&1 &
  wpid=$!
  wait_live "$NS_VIEW" "http://$PUBLIC:$HTTP_PORT/whep/demo" "$wpid" "$tmp/probe.h" && return 0
  fail "$name/live" "whepd not reachable and live at http://$PUBLIC:$HTTP_PORT from the viewer within 20 s (last POST '$LIVE_CODE'); log: $(tail -n 3 "$tmp/$name.log" | tr '\n' ' ' | cut -c1-300)"
  return 1
}
whepd_stop() {
  [ -z "$wpid" ] || stop "$wpid"
  wpid=""
}

# viewers <name> <count> [viewer.ts options]: runs e2e/nat/viewer.ts in the viewer namespace
# (bounded: its own watchdog, and timeout here); its JSON line is left in $tmp/<name>.json.out.
viewers() {
  local name=$1 n=$2 rc=0
  shift 2
  ip netns exec "$NS_VIEW" timeout -k 5 150 node --import=tsx e2e/nat/viewer.ts "http://$PUBLIC:$HTTP_PORT/whep/demo" \
    --bind 203.0.113.20 --count "$n" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  cpid=$!
  # whepd's UDP sockets, sampled every 0.5 s while the viewers run (libjuice closes the shared
  # socket once its last peer is gone). FFmpeg's ingest sockets are on 127.0.0.1, so every other
  # UDP socket of whepd's process is a peer socket. One line per sample: the sockets' addresses.
  : >"$tmp/$name.sockets"
  while kill -0 "$cpid" 2>/dev/null; do
    { in_srv ss -uanpH 2>/dev/null || true; } | grep "pid=$wpid," | awk '$4 !~ /^127\./ {print $4}' | sort | tr '\n' ' ' >>"$tmp/$name.sockets"
    echo >>"$tmp/$name.sockets"
    sleep 0.5
  done
  wait "$cpid" || rc=$?
  cpid=""
  JSON=$(grep '^{' "$tmp/$name.out" | tail -n 1 || true)
  [ -n "$JSON" ] || JSON='{}'
  VIEWERS_RC=$rc
}
# browser <name> [chromium.ts options]: headless Chromium (e2e/browser/shared.ts flags) in the
# viewer namespace on whepd's player page through the NAT; JSON line in $JSON, as viewers() does.
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
HAVE_CHROMIUM=""
[ -x "$CHROMIUM" ] && [ -f node_modules/playwright-core/package.json ] && [ -f dist/player/player.mjs ] && HAVE_CHROMIUM=1
browser() {
  local name=$1 rc=0
  shift
  ip netns exec "$NS_VIEW" timeout -k 5 90 env CHROMIUM="$CHROMIUM" node --import=tsx e2e/nat/chromium.ts \
    "http://$PUBLIC:$HTTP_PORT/play/demo" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  cpid=$!
  wait "$cpid" || rc=$?
  cpid=""
  JSON=$(grep '^{' "$tmp/$name.out" | tail -n 1 || true)
  [ -n "$JSON" ] || JSON='{}'
  VIEWERS_RC=$rc
}
no_chromium() { echo "SKIP nat/$1: needs $CHROMIUM (sudo apt-get install -y chromium), playwright-core (npm ci) and the built player (npx tsc -p internal/player/client/tsconfig.json)"; }

# q <js expression over r>: reads the last JSON line.
q() { node -e "const r=JSON.parse(process.argv[1]);const med=a=>{const s=[...a].filter(x=>x!==null).sort((x,y)=>x-y);return s.length?s[s.length>>1]:null};const min=a=>Math.min(...a);const max=a=>Math.max(...a);console.log($1)" "$JSON"; }

# Full rate: the fixture is 30 fps, Opus 50 packets/s; 10% slack for the window's edges.
FULL='r.connected===r.viewers && r.statuses.every(s=>s===201) && min(r.video_fps)>=27 && min(r.audio_pps)>=45 && max(r.video_lost)===0 && max(r.audio_lost)===0'

# 1. advertised public address, one UDP port.
if whepd_start advertised ", \"udpPort\": $UDP_PORT, \"advertisedAddresses\": [\"$PUBLIC\"], \"advertiseOnly\": true"; then
  viewers advertised 1 --wait-ms 15000 --measure-ms 5000
  if [ "$(q "$FULL")" = true ]; then
    pass "advertised/plays-through-nat (first video packet $(q 'r.ttff_ms[0]') ms after the offer was started, $(q 'r.video_fps[0]') fps, $(q 'r.video_pps[0]') video packets/s, $(q 'r.audio_pps[0]') Opus packets/s)"
    note "time to first video packet through the NAT (node-datachannel): $(q 'r.ttff_ms[0]') ms after the offer was started"
  else
    fail advertised/plays-through-nat "exit $VIEWERS_RC, $JSON; $(tail -n 2 "$tmp/advertised.err" | tr '\n' ' ' | cut -c1-200)"
  fi

  if [ -n "$HAVE_CHROMIUM" ]; then
    browser advertised-chromium --wait-ms 15000 --measure-ms 3000
    if [ "$(q 'r.state==="playing" && r.width===640 && r.height===360 && r.fps>=20')" = true ]; then
      pass "advertised/chromium-plays-through-nat ($(q 'r.chromium'): player's time to first frame $(q 'r.ttff_ms') ms, $(q 'r.width')x$(q 'r.height'), $(q 'r.fps') fps decoded)"
      note "time to first frame through the NAT (Chromium, player page): $(q '`${r.ttff_ms} ms after the POST, playing ${r.playing_ms} ms after the page load`')"
    else
      fail advertised/chromium-plays-through-nat "exit $VIEWERS_RC, $JSON; $(tail -n 2 "$tmp/advertised-chromium.err" | tr '\n' ' ' | cut -c1-200)"
    fi
  else
    no_chromium advertised/chromium-plays-through-nat
  fi

  # 3. one port: many viewers on the one udpPort (same whepd).
  t=$(date +%s%3N)
  viewers one-port "$NAT_VIEWERS" --wait-ms 20000 --measure-ms 5000
  took=$(($(date +%s%3N) - t))
  if [ "$(q "$FULL")" = true ]; then
    pass "one-port/$NAT_VIEWERS-viewers-full-rate (per viewer: fps min $(q 'min(r.video_fps)') median $(q 'med(r.video_fps)'), video packets/s min $(q 'min(r.video_pps)') median $(q 'med(r.video_pps)'), Opus packets/s min $(q 'min(r.audio_pps)'); packets lost $(q 'r.video_lost.reduce((a,b)=>a+b,0)') video, $(q 'r.audio_lost.reduce((a,b)=>a+b,0)') audio; first video packet median $(q 'med(r.ttff_ms)') ms, max $(q 'max(r.ttff_ms.map(x=>x??1e9))') ms; run $took ms)"
  else
    fail "one-port/$NAT_VIEWERS-viewers-full-rate" "exit $VIEWERS_RC, connected $(q 'r.connected') of $(q 'r.viewers'), statuses $(q 'JSON.stringify([...new Set(r.statuses)])'), fps min $(q 'min(r.video_fps)'), Opus min $(q 'min(r.audio_pps)'), lost max $(q 'max(r.video_lost)') video $(q 'max(r.audio_lost)') audio; $(tail -n 2 "$tmp/one-port.err" | tr '\n' ' ' | cut -c1-200)"
  fi
  # Every sample has at most one peer socket, and while the viewers played it was the udpPort.
  most=$(awk '{ if (NF > m) m = NF } END { print m + 0 }' "$tmp/one-port.sockets")
  seen=$(tr ' ' '\n' <"$tmp/one-port.sockets" | grep . | sort -u | tr '\n' ' ' || true)
  samples=$(grep -c . "$tmp/one-port.sockets" || true)
  if [ "$most" = 1 ] && [ "$seen" = "10.77.1.2:$UDP_PORT " ]; then
    pass "one-port/one-udp-socket (${seen% }, the only peer socket in each of $samples samples taken while viewers were on)"
  else
    fail one-port/one-udp-socket "whepd (pid $wpid) had up to $most peer UDP sockets in a sample; addresses seen: ${seen:-none}"
  fi
  whepd_stop
fi

# 2. control: whepd announces only its private address; the viewer must not play.
if whepd_start control ", \"udpPort\": $UDP_PORT"; then
  viewers control 1 --wait-ms 5000 --measure-ms 1000
  if [ "$(q 'r.viewers===1 && r.statuses[0]===201 && r.connected===0')" = true ]; then
    pass "control/no-advertised-address-does-not-play (POST 201, peer state $(q 'r.states[0]') after $(q 'r.attempts[0]') attempts, 0 video packets)"
  else
    fail control/no-advertised-address-does-not-play "the viewer was expected to get 201 and no media: exit $VIEWERS_RC, $JSON"
  fi
  if [ -n "$HAVE_CHROMIUM" ]; then
    browser control-chromium --wait-ms 10000 --measure-ms 1000
    # Not playing, no first frame, and no 640x360 picture (the <video> may count a 2x2 placeholder
    # frame when the player resets it between retries).
    if [ "$(q 'r.state!==undefined && r.state!=="playing" && r.ttff_ms===null && r.width!==640')" = true ]; then
      pass "control/chromium-does-not-play (player state $(q 'r.state') after 10 s, no first frame; its message: \"$(q 'r.status')\")"
    else
      fail control/chromium-does-not-play "Chromium was expected not to play: exit $VIEWERS_RC, $JSON; $(tail -n 2 "$tmp/control-chromium.err" | tr '\n' ' ' | cut -c1-200)"
    fi
  else
    no_chromium control/chromium-does-not-play
  fi
  whepd_stop
fi

summary
[ "$failed" -eq 0 ]
