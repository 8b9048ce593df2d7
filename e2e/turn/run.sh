#!/usr/bin/env bash
# Viewers that can reach whepd only through TURN (issue 15 item 4), in five network namespaces this
# script creates, joined by a bridge in the first:
#
#   net     bridge br0, nothing else
#   srv     203.0.113.10 (s0)  whepd: HTTP :8889, webrtc.udpPort 8189, webrtc.turn minting credentials
#           for turn:203.0.113.30:3478 (?transport=tcp and ?transport=udp) with the test's secret
#   turn    203.0.113.30 (t0)  coturn's turnserver, a child of this script with its own config file
#           (use-auth-secret, static-auth-secret, realm whepd.test), listening on TCP and UDP 3478,
#           relaying from 203.0.113.30
#   tcpv    203.0.113.20 (v0)  the corporate viewer: nftables drops every UDP packet it sends and
#           lets out only TCP to whepd's HTTP port and to coturn's 3478 (and answers to those)
#   udpv    203.0.113.21 (u0)  the viewer for TURN over UDP: lets out only UDP to coturn's 3478 and
#           TCP to whepd's HTTP port; nothing else (so not TCP to coturn either)
#
# whepd's own namespace counts, with nftables, the UDP it sends from its udpPort: RTP/RTCP (SRTP:
# first two bits 10) to coturn's relay address, STUN Binding success (0x0101) and error (0x0111)
# responses to it (and the ERROR-CODE of the errors), and anything to a viewer's address. Relay
# use is shown four ways: the client's selected candidate pair (local type relay, over tcp or udp),
# whepd's SRTP going to coturn's relay address and none to the viewer, coturn's own count of what
# it relayed to that user over which transport, and the viewer's firewall.
#
# Checks (each prints PASS turn/<name> or FAIL turn/<name>: reason, and "turn: N passed, N failed"):
#   link             POST 201 and a plain OPTIONS carry rel="ice-server" turn: links with a fresh
#                    username (<expiry>:<id>, expiry now + ttlS) and credential.
#   coturn/*         TURN Allocates over TCP from the corporate viewer (e2e/turn/allocate.ts): the
#                    credential whepd minted gets a relayed address; one whose expiry is past (HMAC
#                    right), one signed with another secret, and whepd's with its expiry moved
#                    later get 401.
#   gst-tcp/*        GStreamer webrtcbin (libnice, e2e/gst/whep-client.py) in tcpv takes coturn from
#                    whepd's Link header and decodes H264 and Opus through a TURN/TCP relay: with
#                    ice-transport-policy relay, and with the default policy (its UDP host
#                    candidate is tried, dropped by the firewall, and it falls back to the relay).
#   chromium-udp/*   headless Chromium (e2e/nat/chromium.ts) in udpv plays whepd's player page
#                    with iceTransportPolicy "relay" through a TURN/UDP relay.
#   chromium-tcp-known-limit  the same Chromium in tcpv, TURN over TCP only: with node-datachannel
#                    0.33.x it does not play (libjuice issue #355: Chromium's zero ICE-CONTROLLING
#                    tie-breaker on TCP TURN ports gets 400 Bad Request from libjuice). PASS when it
#                    fails that way, and PASS with a note that the limit is gone when it plays;
#                    FAIL when neither was observed (no relay/tcp candidate, no 400 from whepd).
# Times to first frame through TURN/TCP (GStreamer) and TURN/UDP (Chromium) are printed as notes.
#
# Needs root (ip netns), nft (Debian nftables) and turnserver (Debian coturn; its system service is
# never started: scripts/ensure-coturn.sh), GStreamer (scripts/ensure-gstreamer.sh); all installed
# with apt-get when root. Chromium (Debian package, with playwright-core) and the built player are
# needed for the Chromium checks, which FAIL without them. Addresses are only 203.0.113.0/24
# (TEST-NET-3), only inside these namespaces, which are deleted on exit (also after a failure or a
# signal); only PIDs started here are ended. Takes 70-95 s (two Chromium launches are half of it).
#
# Environment: WHEPD_MAIN (default dist/cmd/whepd/main.js), CHROMIUM (default /usr/bin/chromium),
# E2E_KEEP=1 (keep the logs: coturn's, whepd's, each client's).
set -euo pipefail
cd "$(dirname "$0")/../.."
. e2e/netns.sh

WHEPD_MAIN=${WHEPD_MAIN:-dist/cmd/whepd/main.js}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SRV=203.0.113.10
TURN=203.0.113.30
TCPV=203.0.113.20
UDPV=203.0.113.21
HTTP_PORT=8889 # fresh namespaces: every port is free
UDP_PORT=8189
TURN_PORT=3478
REALM=whepd.test
TTL_S=600
passed=0
failed=0
pass() { echo "PASS turn/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL turn/$1: $2"; failed=$((failed + 1)); }
note() { echo "  note: $*"; }
summary() { echo "turn: $passed passed, $failed failed"; }

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP turn: needs root for network namespaces (ip netns, nftables, coturn). Run: sudo make e2e"
  summary
  exit 0
fi
missing=""
scripts/ensure-tool.sh nft nftables || missing="$missing nftables"
scripts/ensure-coturn.sh || missing="$missing coturn"
scripts/ensure-gstreamer.sh || missing="$missing GStreamer"
if [ -n "$missing" ]; then
  fail setup "missing:$missing and could not be installed (the lines above give the apt-get command)"
  summary
  exit 1
fi
[ -f "$WHEPD_MAIN" ] || { fail setup "$WHEPD_MAIN is missing: run npx tsc -p tsconfig.json"; summary; exit 1; }

tag=$$
NS_NET="whepd-turn-net-$tag"
NS_SRV="whepd-turn-srv-$tag"
NS_TURN="whepd-turn-turn-$tag"
NS_TCPV="whepd-turn-tcpv-$tag"
NS_UDPV="whepd-turn-udpv-$tag"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/whepd-turn.XXXXXX")
# The shared secret of this run only: whepd mints with it, coturn checks with it.
SECRET="e2e-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
wpid=""
tpid=""
cpid=""

cleanup() {
  set +e
  [ -z "$cpid" ] || stop "$cpid"
  [ -z "$wpid" ] || stop "$wpid"
  [ -z "$tpid" ] || stop "$tpid"
  netns_delete "$NS_UDPV" "$NS_TCPV" "$NS_TURN" "$NS_SRV" "$NS_NET"
  if [ "${E2E_KEEP:-}" = 1 ]; then echo "turn: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_tcpv() { ip netns exec "$NS_TCPV" "$@"; }

setup() {
  local ns dev addr
  netns_add "$NS_NET" "$NS_SRV" "$NS_TURN" "$NS_TCPV" "$NS_UDPV"
  ip netns exec "$NS_NET" ip link add br0 type bridge
  ip netns exec "$NS_NET" ip link set br0 up
  # Each veth pair is created inside the bridge's namespace and one end moved, so nothing is ever
  # in the host's namespace.
  for spec in "$NS_SRV:s0:$SRV" "$NS_TURN:t0:$TURN" "$NS_TCPV:v0:$TCPV" "$NS_UDPV:u0:$UDPV"; do
    IFS=: read -r ns dev addr <<<"$spec"
    ip netns exec "$NS_NET" ip link add "b$dev" type veth peer name "$dev" netns "$ns"
    ip netns exec "$NS_NET" ip link set "b$dev" master br0 up
    ip netns exec "$ns" ip addr add "$addr/24" dev "$dev"
    ip netns exec "$ns" ip link set "$dev" up
  done
  # whepd's side: counters only (policy accept), read between the checks.
  in_srv nft -f - <<EOF
table ip obs {
  counter media_to_relay {}
  counter binding_ok_to_relay {}
  counter binding_err_to_relay {}
  counter udp_to_viewers {}
  counter media_to_viewers {}
  set error_codes { typeof @th,272,16; size 16; flags dynamic; }
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr { $TCPV, $UDPV } udp sport $UDP_PORT @th,64,2 2 counter name media_to_viewers
    ip daddr { $TCPV, $UDPV } meta l4proto udp counter name udp_to_viewers
    ip daddr $TURN udp sport $UDP_PORT @th,64,2 2 counter name media_to_relay
    ip daddr $TURN udp sport $UDP_PORT @th,64,16 0x0101 counter name binding_ok_to_relay
    ip daddr $TURN udp sport $UDP_PORT @th,64,16 0x0111 counter name binding_err_to_relay
    # libjuice writes ERROR-CODE first: its class and number are bytes 26-27 of the message.
    ip daddr $TURN udp sport $UDP_PORT @th,64,16 0x0111 @th,224,16 0x0009 add @error_codes { @th,272,16 }
  }
}
EOF
  # The corporate viewer: out only TCP to whepd's HTTP port and coturn's TURN port; every UDP
  # packet dropped (and counted); in only answers.
  in_tcpv nft -f - <<EOF
table inet corp {
  counter udp_dropped {}
  chain out {
    type filter hook output priority 0; policy drop;
    oif "lo" accept
    ip daddr $SRV tcp dport $HTTP_PORT accept
    ip daddr $TURN tcp dport $TURN_PORT accept
    meta l4proto udp counter name udp_dropped drop
  }
  chain in { type filter hook input priority 0; policy drop; iif "lo" accept; ct state established,related accept; }
}
EOF
  # The TURN/UDP viewer: out only UDP to coturn and TCP to whepd's HTTP port.
  ip netns exec "$NS_UDPV" nft -f - <<EOF
table inet udpviewer {
  chain out {
    type filter hook output priority 0; policy drop;
    oif "lo" accept
    ip daddr $SRV tcp dport $HTTP_PORT accept
    ip daddr $TURN udp dport $TURN_PORT accept
  }
  chain in { type filter hook input priority 0; policy drop; iif "lo" accept; ct state established,related accept; }
}
EOF
  # set -e does not hold inside `if ! setup`: check that the filters and counters are all there.
  in_srv nft list table ip obs >/dev/null && in_tcpv nft list table inet corp >/dev/null &&
    ip netns exec "$NS_UDPV" nft list table inet udpviewer >/dev/null
}
if ! setup >"$tmp/setup.log" 2>&1; then
  fail setup "could not set up the namespaces: $(tail -n 3 "$tmp/setup.log" | tr '\n' ' ' | cut -c1-300)"
  summary
  exit 1
fi

# coturn: its own config (never /etc/turnserver.conf), in the foreground as a child of this script.
cat >"$tmp/turnserver.conf" <<EOF
listening-ip=$TURN
relay-ip=$TURN
listening-port=$TURN_PORT
min-port=49160
max-port=49260
realm=$REALM
use-auth-secret
static-auth-secret=$SECRET
fingerprint
no-tls
no-dtls
no-cli
no-multicast-peers
userdb=$tmp/turndb
pidfile=$tmp/turnserver.pid
log-file=$tmp/coturn.log
simple-log
verbose
EOF
ip netns exec "$NS_TURN" turnserver -c "$tmp/turnserver.conf" >"$tmp/coturn.out" 2>&1 &
tpid=$!
for _ in $(seq 1 50); do
  ip netns exec "$NS_TURN" ss -tlnH "sport = :$TURN_PORT" | grep -q . && break
  kill -0 "$tpid" 2>/dev/null || break
  sleep 0.1
done
if ! ip netns exec "$NS_TURN" ss -tlnH "sport = :$TURN_PORT" | grep -q .; then
  fail coturn/start "turnserver is not listening on $TURN:$TURN_PORT/tcp within 5 s: $(tail -n 3 "$tmp/coturn.out" "$tmp/coturn.log" 2>/dev/null | tr '\n' ' ' | cut -c1-300)"
  summary
  exit 1
fi

# whepd in srv; live once a POST from the corporate viewer is not 409 (bounded, 20 s). That POST's
# headers ($tmp/post.h) are the 201 the link check reads.
cat >"$tmp/whepd.json" <<EOF
{
  "http": { "listen": "$SRV:$HTTP_PORT" },
  "webrtc": {
    "bindAddress": "$SRV",
    "udpPort": $UDP_PORT,
    "turn": {
      "urls": ["turn:$TURN:$TURN_PORT?transport=tcp", "turn:$TURN:$TURN_PORT?transport=udp"],
      "secret": "$SECRET",
      "ttlS": $TTL_S
    }
  },
  "log": { "level": "info" },
  "streams": [ { "id": "demo", "input": "fixtures/media/demo.mp4", "loop": true } ]
}
EOF
BASE="http://$SRV:$HTTP_PORT"
# `ip netns exec` execs its command, so $! is whepd itself.
ip netns exec "$NS_SRV" node "$WHEPD_MAIN" --config "$tmp/whepd.json" >"$tmp/whepd.log" 2>&1 &
wpid=$!
if ! wait_live "$NS_TCPV" "$BASE/whep/demo" "$wpid" "$tmp/post.h"; then
  fail whepd/live "whepd not reachable and live at $BASE from the viewer within 20 s (last POST '$LIVE_CODE'); log: $(tail -n 3 "$tmp/whepd.log" | tr '\n' ' ' | cut -c1-300)"
  summary
  exit 1
fi

# turn_link <headers file> <udp|tcp>: "username credential" of the turn: Link of that transport.
turn_link() {
  tr -d '\r' <"$1" | grep -i '^link:' | sed -E 's/^[^:]*:[[:space:]]*//; s/, </\n</g' |
    grep -F "<turn:$TURN:$TURN_PORT?transport=$2>" | sed -nE 's/.*username="([^"]*)".*credential="([^"]*)".*/\1 \2/p' | head -n 1
}
# expiry_ok <username>: its expiry is now + ttlS (5 s of slack).
expiry_ok() {
  local left=$((${1%%:*} - $(date +%s)))
  [ "$left" -ge $((TTL_S - 5)) ] && [ "$left" -le $((TTL_S + 5)) ]
}
in_tcpv curl -s --max-time 2 -o /dev/null -D "$tmp/options.h" -X OPTIONS "$BASE/whep/demo" || true
read -r post_user post_cred <<<"$(turn_link "$tmp/post.h" tcp) "
read -r opt_user opt_cred <<<"$(turn_link "$tmp/options.h" tcp) "
udp_link=$(turn_link "$tmp/options.h" udp)
if [ -n "$post_cred" ] && [ -n "$opt_cred" ] && [ -n "$udp_link" ] && expiry_ok "$post_user" && expiry_ok "$opt_user" && [ "$post_user" != "$opt_user" ]; then
  pass "link/post-201-and-options-carry-fresh-turn-credentials (201: username $post_user; OPTIONS: $opt_user; expiry now + ${TTL_S} s, tcp and udp URLs)"
else
  fail link/post-201-and-options-carry-fresh-turn-credentials "POST 201 Link: '$(turn_link "$tmp/post.h" tcp)', OPTIONS Link: '$(turn_link "$tmp/options.h" tcp)' / udp '$udp_link' (want a username <now+$TTL_S>:<id> and a credential in each, a different one per request)"
fi

# q <js expression over r>: reads $JSON. One node per call, so a line is built in one call.
q() { node -e "const r=JSON.parse(process.argv[1]);console.log($1)" "$JSON"; }
hmac() { node -e 'process.stdout.write(require("crypto").createHmac("sha1",process.argv[1]).update(process.argv[2]).digest("base64"))' "$1" "$2"; }

# TURN Allocates over TCP from the corporate viewer (one process, one connection each): whepd's
# credential, then three coturn must refuse with 401.
now=$(date +%s)
expired="$((now - 60)):e2e-expired"
forged="$((now + TTL_S)):e2e-forged"
stretched="$((${opt_user%%:*} + 86400)):${opt_user#*:}"
in_tcpv timeout -k 2 30 node --import=tsx e2e/turn/allocate.ts "$TURN" "$TURN_PORT" "$opt_user" "$opt_cred" \
  "$expired" "$(hmac "$SECRET" "$expired")" "$forged" "$(hmac "not-$SECRET" "$forged")" "$stretched" "$opt_cred" \
  >"$tmp/allocate.out" 2>"$tmp/allocate.err" || true
mapfile -t answers < <(grep '^{' "$tmp/allocate.out" || true)
JSON=${answers[0]:-'{}'}
if [ "$(q 'r.ok===true && /^203\.0\.113\.30:\d+$/.test(r.relayed)')" = true ]; then
  pass "coturn/allocates-with-whepd-credential ($(q '`TURN/TCP Allocate with the OPTIONS credential: relayed address ${r.relayed}, realm ${r.realm}, ${r.ms} ms`'))"
else
  fail coturn/allocates-with-whepd-credential "coturn did not allocate with the credential whepd minted: $JSON $(head -c 200 "$tmp/allocate.err")"
fi
# refused <index> <name> <what>: attempt <index> must have got 401.
refused() {
  JSON=${answers[$1]:-'{}'}
  if [ "$(q 'r.ok===false && r.code===401')" = true ]; then
    pass "coturn/refuses-$2 ($3: $(q '`${r.code} ${r.reason}`'))"
  else
    fail "coturn/refuses-$2" "$3 was expected to get 401: $JSON $(head -c 200 "$tmp/allocate.err")"
  fi
}
refused 1 expired-credential "username $expired (expired 60 s ago), HMAC with the right secret"
refused 2 forged-credential "username $forged, HMAC with another secret"
refused 3 stretched-expiry "whepd's credential with its username's expiry moved a day later ($stretched)"

# Counters of whepd's namespace and the corporate viewer's: reset before each client, read after.
ctr() { ip netns exec "$1" nft list counter "$2" "$3" | sed -nE 's/.*packets ([0-9]+) bytes.*/\1/p'; }
reset_counters() {
  in_srv nft reset counters table ip obs >/dev/null
  in_srv nft flush set ip obs error_codes
  in_tcpv nft reset counters table inet corp >/dev/null
}
read_counters() {
  MEDIA=$(ctr "$NS_SRV" "ip obs" media_to_relay)
  BIND_OK=$(ctr "$NS_SRV" "ip obs" binding_ok_to_relay)
  BIND_ERR=$(ctr "$NS_SRV" "ip obs" binding_err_to_relay)
  DIRECT=$(ctr "$NS_SRV" "ip obs" udp_to_viewers)
  MEDIA_DIRECT=$(ctr "$NS_SRV" "ip obs" media_to_viewers)
  UDP_DROPPED=$(ctr "$NS_TCPV" "inet corp" udp_dropped)
  # STUN ERROR-CODE: class (hundreds) in the high byte, number in the low one (RFC 8489 section 14.8).
  ERROR_CODES=$(in_srv nft list set ip obs error_codes | tr -d '\n' | sed -nE 's/.*elements = \{([^}]*)\}.*/\1/p' |
    tr "," "\n" | while read -r v || [ -n "$v" ]; do [ -z "$v" ] || echo $((((v >> 8) & 7) * 100 + (v & 255))); done | sort -u | tr '\n' ' ')
  ERROR_CODES=${ERROR_CODES% }
}
# coturn_usage <username>: what coturn logged when that user's busiest session closed (bounded
# wait, 3 s): "<TCP|UDP> <client address> <packets from the peer> <bytes from the peer>". A client
# may hold more than one allocation (libnice makes a second, unused one); the one that carried
# the media is the one with the most packets from the peer.
coturn_usage() {
  local line="" sess remote
  for _ in $(seq 1 30); do
    line=$(grep -F "peer usage: realm=<$REALM>, username=<$1>" "$tmp/coturn.log" | sed -E 's/.*rp=([0-9]+).*/\1 &/' | sort -n | tail -n 1 || true)
    [ -n "$line" ] && [ "${line%% *}" != 0 ] && break
    sleep 0.1
  done
  sess=${line#*session }
  sess=${sess%%:*}
  remote=$(grep -F "session $sess: closed" "$tmp/coturn.log" | tail -n 1 | sed -nE 's/.*remote ([0-9.:]+),.*/\1/p' || true)
  [ -n "$remote" ] || { echo "? ? ? ?"; return; }
  # coturn logs each TCP client connection as it is accepted.
  echo "$(grep -qF "tcp or tls connected to: $remote" "$tmp/coturn.log" && echo TCP || echo UDP) ${remote:-?} $(sed -nE 's/.*rp=([0-9]+), rb=([0-9]+).*/\1 \2/p' <<<"$line")"
}

# no_viewers: waits (bounded, 20 s) until whepd has no viewer left, so the counters of the next
# client are its own (a client that did not DELETE is ended by whepd after 15 s without RTCP).
no_viewers() {
  local n=""
  for _ in $(seq 1 80); do
    n=$(in_srv curl -s --max-time 2 "$BASE/metrics" | sed -nE 's/^whepd_viewers_total ([0-9]+).*/\1/p' || true)
    [ "$n" = 0 ] && return 0
    sleep 0.25
  done
  note "whepd still had ${n:-?} viewer(s) after 20 s; the next counters include them"
}
# client <ns> <name> <command...>: one client in a viewer namespace (bounded by the caller's
# timeout), counters reset before and read after; its last JSON line in $JSON, exit status in $RC.
client() {
  local ns=$1 name=${2//\//_}
  shift 2
  no_viewers
  reset_counters
  RC=0
  # In the background and waited for, so a SIGTERM to this script is handled at once (cleanup
  # ends the client: $! is timeout itself, which passes the signal on).
  ip netns exec "$ns" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  cpid=$!
  wait "$cpid" || RC=$?
  cpid=""
  read_counters
  JSON=$(grep '^{' "$tmp/$name.out" | tail -n 1 || true)
  [ -n "$JSON" ] || JSON='{}'
}

# GStreamer webrtcbin in the corporate viewer, TURN over TCP from whepd's Link header: first with
# ice-transport-policy relay, then with the default policy (all), where libnice also tries its
# host candidate over UDP, which the firewall drops, and must fall back to the relay.
gst_tcp() {
  local name=$1 via client from_peer bytes_from_peer
  shift
  client "$NS_TCPV" "$name" timeout -k 5 40 /usr/bin/python3 e2e/gst/whep-client.py "$BASE/whep/demo" --turn-from-link tcp "$@"
  read -r via client from_peer bytes_from_peer <<<"$(coturn_usage "$(q 'r.turn?.username')")"
  if [ "$RC" = 0 ] && [ "$(q 'r.ok===true && r.selected_pair?.local?.["candidate-type"]==="relay" && r.selected_pair?.local?.["relay-protocol"]==="tcp"')" = true ] &&
    [ "$MEDIA" -gt 100 ] && [ "$MEDIA_DIRECT" = 0 ] && [ "$via" = TCP ] && [ "${from_peer:-0}" -gt 100 ]; then
    pass "$name ($(q '`first frame ${r.ttff_ms} ms after POST, ${r.ttff_from_start_ms} ms after start; ${r.fps} fps, ${r.audio_samples_per_s} audio samples/s; ${r.offer_candidates} candidate(s) offered; selected pair local relay over ${r.selected_pair.local["relay-protocol"]} ${r.selected_pair.local.address}:${r.selected_pair.local.port} -> remote ${r.selected_pair.remote["candidate-type"]} ${r.selected_pair.remote.address}:${r.selected_pair.remote.port}`'); whepd sent $MEDIA SRTP packets to coturn's relay, $MEDIA_DIRECT to the viewer ($DIRECT UDP packets in all); coturn relayed $from_peer packets ($bytes_from_peer bytes) from whepd to $client over $via; the viewer's firewall dropped $UDP_DROPPED UDP packets it sent)"
  else
    fail "$name" "exit $RC; whepd sent $MEDIA SRTP packets to the relay, $MEDIA_DIRECT to the viewer; coturn: ${via:-?} ${client:-?} ${from_peer:-?} packets from whepd; $JSON; stderr: $(grep -v SSDP "$tmp/${name//\//_}.err" | tail -n 3 | tr '\n' ' ' | cut -c1-300)"
  fi
}
gst_tcp gst-tcp/relay-policy-plays-through-turn-tcp --relay
ttff=$(q 'r.ttff_ms===undefined ? "" : `${r.ttff_ms} ms after the POST, ${r.ttff_from_start_ms} ms from the client'"'"'s start`')
gst_tcp gst-tcp/default-policy-falls-back-to-turn-tcp
[ -z "$ttff" ] || note "time to first frame through TURN/TCP (GStreamer webrtcbin, relay policy): $ttff (OPTIONS, TCP allocation and gathering included)"

# Headless Chromium (e2e/nat/chromium.ts) on whepd's player page, iceTransportPolicy "relay": the
# player asks for the ICE servers with a plain OPTIONS and gets both of whepd's TURN URLs.
[ -x "$CHROMIUM" ] || [ "$CHROMIUM" != /usr/bin/chromium ] || scripts/ensure-tool.sh chromium chromium || true
no_chromium=""
[ -x "$CHROMIUM" ] || no_chromium="$CHROMIUM is missing (sudo apt-get install -y chromium)"
[ -f node_modules/playwright-core/package.json ] || no_chromium="${no_chromium:+$no_chromium; }playwright-core is missing (npm ci)"
[ -f dist/player/player.mjs ] || no_chromium="${no_chromium:+$no_chromium; }the player is not built (npx tsc -p internal/player/client/tsconfig.json)"
ndc=$(node -p 'require("./node_modules/node-datachannel/package.json").version' 2>/dev/null || echo '?')
browser() {
  local ns=$1 name=$2
  shift 2
  client "$ns" "$name" timeout -k 5 90 env CHROMIUM="$CHROMIUM" node --import=tsx e2e/nat/chromium.ts "$BASE/play/demo" --relay "$@"
}

# TURN over UDP from the viewer that can send only UDP to coturn (and HTTP to whepd).
if [ -n "$no_chromium" ]; then
  fail chromium-udp/plays-through-turn-udp-relay "cannot run Chromium: $no_chromium"
else
  browser "$NS_UDPV" chromium-udp --wait-ms 15000 --measure-ms 3000
  if [ "$(q 'r.state==="playing" && r.width===640 && r.height===360 && r.fps>=20 && r.ice?.pair?.local==="relay/udp"')" = true ] &&
    [ "$MEDIA" -gt 50 ] && [ "$MEDIA_DIRECT" = 0 ]; then
    pass "chromium-udp/plays-through-turn-udp-relay ($(q '`${r.chromium}, iceTransportPolicy relay: player'"'"'s time to first frame ${r.ttff_ms} ms after its POST, playing ${r.playing_ms} ms after the page load; ${r.width}x${r.height}, ${r.fps} fps decoded; selected pair local ${r.ice.pair.local} -> remote ${r.ice.pair.remote}, local candidates ${r.ice.local.join(" ")}`'); whepd sent $MEDIA SRTP packets to coturn's relay, $MEDIA_DIRECT to the viewer)"
    note "time to first frame through TURN/UDP (Chromium, player page): $(q '`${r.ttff_ms} ms after the POST, playing ${r.playing_ms} ms after the page load`') (OPTIONS, UDP allocation and gathering included)"
  else
    fail chromium-udp/plays-through-turn-udp-relay "exit $RC; whepd sent $MEDIA SRTP packets to the relay, $MEDIA_DIRECT to the viewer; $JSON; $(tail -n 2 "$tmp/chromium-udp.err" | tr '\n' ' ' | cut -c1-200)"
  fi
fi

# TURN over TCP from the corporate viewer: libjuice issue #355 (Chromium's ICE-CONTROLLING
# tie-breaker is zero on TCP TURN ports; libjuice answers its checks with an error), so it does not
# play with node-datachannel 0.33.x. Not a failure either way, but the outcome must be observed:
# Chromium got a TURN/TCP relay candidate, and its checks reached whepd through the relay (whepd's
# Binding responses to coturn's address, counted by type). When it plays, the limit is gone.
if [ -n "$no_chromium" ]; then
  fail chromium-tcp-known-limit "cannot run Chromium: $no_chromium"
else
  browser "$NS_TCPV" chromium-tcp --wait-ms 10000 --measure-ms 1000
  seen="$(q '`${r.chromium}: player state ${r.state} after 10 s, first frame ${r.ttff_ms}; ${r.ice?.peers} peer(s), ICE states ${JSON.stringify(r.ice?.states)}, local candidates ${r.ice?.local?.join(" ")}, selected pair ${JSON.stringify(r.ice?.pair??null)}, last candidate pairs ${JSON.stringify(r.ice?.pairs??null)}`'); whepd answered Binding requests relayed by coturn $BIND_ERR times with an error (ERROR-CODE ${ERROR_CODES:-none seen}) and $BIND_OK times with success, and sent $MEDIA SRTP packets to the relay"
  if [ "$(q 'r.state==="playing" && r.ice?.pair?.local==="relay/tcp"')" = true ]; then
    pass "chromium-tcp-known-limit: Chromium now plays over TURN/TCP with node-datachannel $ndc ($seen)"
    note "the libjuice #355 limit is gone with node-datachannel $ndc: Chromium plays through TURN over TCP. Update docs/deploy.md (\"Known limit, Chromium through TURN over TCP\") and turn this check into a plays-through-turn-tcp one"
  elif [ "$(q 'r.state!=="playing" && (r.ice?.local??[]).includes("relay/tcp")')" = true ] && [ "$BIND_ERR" -gt 0 ] && [ "$BIND_OK" = 0 ] &&
    grep -qw 400 <<<"$ERROR_CODES"; then
    pass "chromium-tcp-known-limit: still fails as expected (libjuice #355, node-datachannel $ndc; $seen)"
  else
    fail chromium-tcp-known-limit "neither plays nor fails the libjuice #355 way (a relay/tcp local candidate, whepd answering the relayed checks with 400 and never with success): exit $RC; $seen; $JSON"
  fi
fi

summary
[ "$failed" -eq 0 ]
