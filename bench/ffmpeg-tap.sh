#!/usr/bin/env bash
# FFmpeg stand-in used as whepd's ffmpeg.path during the benchmark: it points FFmpeg's two RTP
# outputs (RTP and RTCP) at the bench's UDP tap (bench/tap.ts) instead of whepd's ingest ports,
# writes the real ports and the source ports whepd expects to the map file for the tap, and execs
# the real FFmpeg (same PID).
set -euo pipefail
: "${WHEPD_BENCH_TAP_PORTS:?video,audio tap ports}" "${WHEPD_BENCH_TAP_MAP:?map file}"
IFS=, read -r tap_video tap_audio <<<"$WHEPD_BENCH_TAP_PORTS"
taps=("$tap_video" "$tap_audio")
args=()
real=()
for a in "$@"; do
  # buildFfmpegArgs writes the video output first, then the audio one. whepd's ingest only takes
  # datagrams from the source ports it gave FFmpeg (localrtpport/localrtcpport): the tap sends
  # from those ports instead, so FFmpeg gets none and sends RTP and RTCP to the tap port.
  if [[ $a =~ ^rtp://127\.0\.0\.1:([0-9]+)\?(.*)$ && ${#real[@]} -lt 2 ]]; then
    port=${BASH_REMATCH[1]}
    query=${BASH_REMATCH[2]}
    tap=${taps[${#real[@]}]}
    [[ $query =~ (^|&)rtcpport=([0-9]+) ]] && rtcp=${BASH_REMATCH[2]} || rtcp=$port
    [[ $query =~ (^|&)localrtpport=([0-9]+) ]] && lrtp=${BASH_REMATCH[2]} || lrtp=0
    [[ $query =~ (^|&)localrtcpport=([0-9]+) ]] && lrtcp=${BASH_REMATCH[2]} || lrtcp=0
    real+=("$port:$rtcp:$lrtp:$lrtcp")
    kept=()
    IFS='&' read -r -a parts <<<"$query"
    for part in "${parts[@]}"; do
      case $part in rtcpport=* | localrtpport=* | localrtcpport=* | localaddr=*) ;; *) kept+=("$part") ;; esac
    done
    a="rtp://127.0.0.1:${tap}?$(IFS='&'; echo "${kept[*]}")&rtcpport=${tap}"
  fi
  args+=("$a")
done
if [[ ${#real[@]} -eq 2 ]]; then
  # video rtp:rtcp:source-rtp:source-rtcp, then audio the same
  printf '%s,%s\n' "${real[0]}" "${real[1]}" >"$WHEPD_BENCH_TAP_MAP.tmp"
  mv "$WHEPD_BENCH_TAP_MAP.tmp" "$WHEPD_BENCH_TAP_MAP"
fi
exec "${WHEPD_BENCH_FFMPEG:-ffmpeg}" "${args[@]}"
