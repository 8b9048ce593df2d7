#!/usr/bin/env bash
# FFmpeg stand-in used as whepd's ffmpeg.path during the benchmark: it points FFmpeg's two RTP
# outputs at the bench's UDP tap (bench/tap.ts) instead of whepd's ingest ports, writes the real
# ports to the map file for the tap to forward to, and execs the real FFmpeg (same PID).
set -euo pipefail
: "${WHEPD_BENCH_TAP_PORTS:?video,audio tap ports}" "${WHEPD_BENCH_TAP_MAP:?map file}"
IFS=, read -r tap_video tap_audio <<<"$WHEPD_BENCH_TAP_PORTS"
taps=("$tap_video" "$tap_audio")
args=()
real=()
for a in "$@"; do
  # buildFfmpegArgs writes the video output first, then the audio one.
  if [[ $a =~ ^rtp://127\.0\.0\.1:([0-9]+)\?(.*)$ && ${#real[@]} -lt 2 ]]; then
    port=${BASH_REMATCH[1]}
    tap=${taps[${#real[@]}]}
    real+=("$port")
    a="rtp://127.0.0.1:${tap}?${BASH_REMATCH[2]//rtcpport=$port/rtcpport=$tap}"
  fi
  args+=("$a")
done
if [[ ${#real[@]} -eq 2 ]]; then
  printf '%s,%s\n' "${real[0]}" "${real[1]}" >"$WHEPD_BENCH_TAP_MAP.tmp"
  mv "$WHEPD_BENCH_TAP_MAP.tmp" "$WHEPD_BENCH_TAP_MAP"
fi
exec "${WHEPD_BENCH_FFMPEG:-ffmpeg}" "${args[@]}"
