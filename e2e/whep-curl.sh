#!/usr/bin/env bash
# The WHEP HTTP matrix against a running whepd, with curl only (plus grep/sed/awk).
#
#   e2e/whep-curl.sh <base url> <stream>      e.g. e2e/whep-curl.sh http://127.0.0.1:8889 demo
#
# Uses the captured Chromium offers in fixtures/offers/. Their candidates point at closed loopback
# ports, so the sessions created here never connect: the checks are about HTTP only, and a session
# left behind is reaped by webrtc.handshakeTimeoutMs. Prints `PASS <name>` or `FAIL <name>: reason`
# per check and exits 1 if any check failed (2 on usage errors).
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <base url> <stream>" >&2
  exit 2
fi
BASE=${1%/}
STREAM=$2
OFFERS="$(cd "$(dirname "$0")/.." && pwd)/fixtures/offers"
ENDPOINT="$BASE/whep/$STREAM"
CURL=(curl -s --max-time 10)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/whep-curl.XXXXXX")
RESOURCE=""
cleanup() {
  # Leave nothing behind if a check failed half-way (DELETE is idempotent: 200 or 204).
  if [ -n "$RESOURCE" ]; then "${CURL[@]}" -o /dev/null -X DELETE "$BASE$RESOURCE" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

passed=0
failed=0
pass() { echo "PASS whep-curl/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL whep-curl/$1: $2"; failed=$((failed + 1)); }

# req <curl args...>: runs one request; sets STATUS, leaves headers in $WORK/h and body in $WORK/b.
req() {
  : >"$WORK/h"
  : >"$WORK/b"
  STATUS=$("${CURL[@]}" -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' "$@") || STATUS="curl-error-$?"
}
# hdr <name>: the last value of a response header, CR stripped ("" when absent).
hdr() { grep -i "^$1:" "$WORK/h" | tail -n 1 | sed -E 's/^[^:]*:[[:space:]]*//' | tr -d '\r'; }
# body: the response body on one line, for messages.
body() { tr -d '\r' <"$WORK/b" | tr '\n' ' ' | cut -c1-160; }
# expect <name> <status>: PASS when the last request answered <status>.
expect() {
  if [ "$STATUS" = "$2" ]; then pass "$1"; else fail "$1" "expected $2, got $STATUS ($(body))"; fi
}
# expect_body <name> <status> <regex>: status and a body matching the (case-insensitive) regex.
expect_body() {
  if [ "$STATUS" != "$2" ]; then fail "$1" "expected $2, got $STATUS ($(body))"
  elif ! grep -qiE "$3" "$WORK/b"; then fail "$1" "$2 but the body does not match /$3/: $(body)"
  else pass "$1"; fi
}
# expect_hdr <name> <header> <regex>: the last response has the header, matching the regex.
expect_hdr() {
  local v
  v=$(hdr "$2")
  if [ -z "$v" ]; then fail "$1" "no $2 header (status $STATUS)"
  elif ! grep -qE -- "$3" <<<"$v"; then fail "$1" "$2 is '$v', expected /$3/"
  else pass "$1"; fi
}

post_offer() { req -X POST -H 'Content-Type: application/sdp' --data-binary "@$OFFERS/$1" "$ENDPOINT"; }

# --- POST: wait (bounded) for the stream to be live, then the happy path --------------------
for _ in $(seq 1 80); do
  post_offer chromium-recvonly-trickle.sdp
  [ "$STATUS" = 409 ] || break
  sleep 0.25
done
expect post-201 201
RESOURCE=$(hdr location)
ETAG=$(hdr etag)
if grep -qE "^/whep/$STREAM/[^/]+$" <<<"$RESOURCE"; then pass post-location; else fail post-location "Location is '$RESOURCE', expected /whep/$STREAM/<resource>"; fi
# RFC 9110 section 8.8.3: a strong validator is a quoted opaque tag without the W/ prefix.
if grep -qE '^"[^"*]+"$' <<<"$ETAG"; then pass post-etag-strong; else fail post-etag-strong "ETag is '$ETAG', expected a strong quoted entity-tag"; fi
expect_hdr post-content-type content-type '^application/sdp$'
if head -n 1 "$WORK/b" | grep -q '^v=0'; then pass post-answer-is-sdp; else fail post-answer-is-sdp "body does not start with v=0: $(body)"; fi
expect_hdr post-cors-allow-origin access-control-allow-origin '.'
expect_hdr post-cors-expose-headers access-control-expose-headers '(^|[ ,])Location([ ,]|$).*(^|[ ,])ETag([ ,]|$)|(^|[ ,])ETag([ ,]|$).*(^|[ ,])Location([ ,]|$)'

if [ -z "$RESOURCE" ] || [ -z "$ETAG" ]; then
  fail patch "no session to PATCH (POST answered $STATUS); skipping the PATCH/DELETE checks counts as failure"
  RESOURCE=""
else
  RES="$BASE$RESOURCE"
  FRAG=$'a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n'
  # An ICE restart: a new ufrag/pwd in the fragment (with If-Match * or the ETag); see docs/whep.md.
  RESTART=$'a=ice-ufrag:e2eR\r\na=ice-pwd:e2erestartpasswordabcdefgh\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n'
  patch() { req -X PATCH "$@" "$RES"; }

  # --- PATCH ------------------------------------------------------------------------------
  patch -H 'Content-Type: application/trickle-ice-sdpfrag' -H "If-Match: $ETAG" --data-binary "$FRAG"
  expect patch-trickle-204 204
  # Players such as Medooze's whep.js send no If-Match before an ICE restart: a trickle, by default.
  patch -H 'Content-Type: application/trickle-ice-sdpfrag' --data-binary "$FRAG"
  expect patch-no-if-match-trickle-204 204
  # MediaMTX's reader trickles with If-Match * and no new ufrag: a trickle too, not a restart.
  patch -H 'Content-Type: application/trickle-ice-sdpfrag' -H 'If-Match: *' --data-binary "$FRAG"
  expect patch-if-match-star-trickle-204 204
  patch -H 'Content-Type: application/trickle-ice-sdpfrag' -H 'If-Match: "e2e-stale-etag"' --data-binary "$FRAG"
  expect patch-stale-etag-412 412
  patch -H 'Content-Type: application/trickle-ice-sdpfrag' -H 'If-Match: *' --data-binary "$RESTART"
  expect patch-ice-restart-422 422
  patch -H 'Content-Type: application/trickle-ice-sdpfrag' -H "If-Match: $ETAG" --data-binary "$FRAG"
  expect patch-session-continues-after-422 204
  patch -H 'Content-Type: text/plain' -H "If-Match: $ETAG" --data-binary "$FRAG"
  expect patch-wrong-content-type-415 415
  req -X PATCH -H 'Content-Type: application/trickle-ice-sdpfrag' -H "If-Match: $ETAG" --data-binary "$FRAG" "$ENDPOINT/e2e-no-such-resource"
  expect patch-unknown-resource-404 404
  req -X OPTIONS -H 'Origin: http://player.example' -H 'Access-Control-Request-Method: PATCH' "$RES"
  expect options-resource-204 204
  expect_hdr options-resource-allow allow 'PATCH.*DELETE|DELETE.*PATCH'
fi

# --- POST errors ---------------------------------------------------------------------------
req -X POST -H 'Content-Type: text/plain' --data-binary "@$OFFERS/chromium-recvonly.sdp" "$ENDPOINT"
expect post-wrong-content-type-415 415
req -X POST -H 'Content-Type: application/sdp' --data-binary '' "$ENDPOINT"
expect post-empty-400 400
expect_hdr error-body-text-plain content-type '^text/plain'
req -X POST -H 'Content-Type: application/sdp' --data-binary 'this is not an SDP offer' "$ENDPOINT"
expect post-garbage-400 400
req -X POST -H 'Content-Type: application/sdp' --data-binary "@$OFFERS/chromium-recvonly.sdp" "$BASE/whep/e2e-no-such-stream"
expect post-unknown-stream-404 404
expect_hdr error-cors-allow-origin access-control-allow-origin '.'
# 70 KB, over the default http.maxBodyBytes (65536): once with Content-Length, once chunked.
awk 'BEGIN { printf "v=0\r\n"; for (i = 0; i < 896; i++) printf "a=x-e2e-padding:%062d\r\n", i }' >"$WORK/big.sdp"
req -X POST -H 'Content-Type: application/sdp' --data-binary "@$WORK/big.sdp" "$ENDPOINT"
expect post-70kb-413 413
req -X POST -H 'Content-Type: application/sdp' -H 'Transfer-Encoding: chunked' --data-binary "@$WORK/big.sdp" "$ENDPOINT"
expect post-70kb-chunked-413 413
# An offer without H264 but with VP8 (a Firefox without OpenH264) gets the stream's VP8 encoding
# (streams[].fallbackVideo, on by default): started on demand, so the POST may wait for it.
post_offer firefox-like-no-h264.sdp
expect post-vp8-fallback-201 201
if grep -q '^a=rtpmap:96 VP8/90000' "$WORK/b" && ! grep -q 'H264' "$WORK/b"; then pass post-vp8-fallback-answer; else fail post-vp8-fallback-answer "the answer does not carry VP8 on PT 96 alone: $(body)"; fi
VP8_RES=$(hdr location)
if [ -n "$VP8_RES" ]; then
  req -X DELETE "$BASE$VP8_RES"
  expect delete-vp8-session-200 200
fi
# Neither H264 nor VP8: nothing whepd can send.
sed 's#VP8/90000#VP9/90000#' "$OFFERS/firefox-like-no-h264.sdp" >"$WORK/no-h264-no-vp8.sdp"
req -X POST -H 'Content-Type: application/sdp' --data-binary "@$WORK/no-h264-no-vp8.sdp" "$ENDPOINT"
expect_body post-no-h264-no-vp8-406 406 'no H264.*and no VP8'
post_offer no-opus.sdp
expect_body post-no-opus-406 406 'Opus'

# --- OPTIONS, HEAD, GET on the endpoint ------------------------------------------------------
req -X OPTIONS -H 'Origin: http://player.example' -H 'Access-Control-Request-Method: POST' \
  -H 'Access-Control-Request-Headers: content-type, authorization' "$ENDPOINT"
expect options-endpoint-204 204
expect_hdr options-allow allow 'POST'
expect_hdr options-accept-post accept-post '^application/sdp$'
expect_hdr options-cors-allow-origin access-control-allow-origin '^(\*|http://player\.example)$'
expect_hdr options-cors-allow-methods access-control-allow-methods 'POST.*PATCH.*DELETE|POST.*DELETE.*PATCH'
expect_hdr options-cors-allow-headers access-control-allow-headers '[Cc]ontent-[Tt]ype.*If-Match|If-Match.*[Cc]ontent-[Tt]ype'
# curl -I writes the header block to -o, so the body size comes from %{size_download}.
HEAD_OUT=$("${CURL[@]}" -I -D "$WORK/h" -o /dev/null -w '%{http_code} %{size_download}' "$ENDPOINT") || HEAD_OUT="curl-error-$? -"
STATUS=${HEAD_OUT% *}
expect head-200 200
expect_hdr head-content-type content-type '^application/sdp$'
if [ "${HEAD_OUT#* }" = 0 ]; then pass head-no-body; else fail head-no-body "HEAD returned ${HEAD_OUT#* } body bytes"; fi
req "$ENDPOINT"
expect get-204 204

# --- DELETE ----------------------------------------------------------------------------------
if [ -n "$RESOURCE" ]; then
  req -X DELETE "$BASE$RESOURCE"
  expect delete-200 200
  req -X DELETE "$BASE$RESOURCE"
  expect delete-again-204 204
  req -X PATCH -H 'Content-Type: application/trickle-ice-sdpfrag' -H "If-Match: $ETAG" --data-binary "$FRAG" "$BASE$RESOURCE"
  expect patch-after-delete-404 404
  RESOURCE=""
fi

echo "whep-curl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
