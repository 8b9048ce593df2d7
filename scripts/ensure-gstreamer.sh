#!/usr/bin/env bash
# Makes sure Debian's python3 can run e2e/gst/whep-client.py: PyGObject with Gst, GstSdp and
# GstWebRTC, and the elements webrtcbin, nicesrc, rtph264depay, h264parse, avdec_h264,
# rtpopusdepay, opusdec. Installs the Debian packages when something is missing and running as
# root, otherwise prints the exact command and fails.
#   scripts/ensure-gstreamer.sh        (exit 0: ready; 1: missing, with the command to run on stderr)
# The client runs /usr/bin/python3 on purpose: a pyenv or venv python on PATH has no gi module.
set -euo pipefail
PY=/usr/bin/python3
PKGS=(python3-gi python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-nice gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav)

# missing: prints what is missing (empty when everything is there).
missing() {
  [ -x "$PY" ] || { echo "$PY"; return; }
  "$PY" - <<'EOF' 2>/dev/null || echo "python gi / GStreamer typelibs"
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('GstWebRTC', '1.0')
from gi.repository import Gst, GstSdp, GstWebRTC
Gst.init(None)
gone = [e for e in ('webrtcbin', 'nicesrc', 'rtph264depay', 'h264parse', 'avdec_h264', 'rtpopusdepay', 'opusdec', 'fakesink')
        if Gst.ElementFactory.find(e) is None]
if gone:
    print('GStreamer elements ' + ' '.join(gone))
EOF
}

what=$(missing)
[ -z "$what" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "whepd: $what missing; installing Debian packages ${PKGS[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null; }
  what=$(missing)
  [ -z "$what" ] && exit 0
  echo "whepd: installing ${PKGS[*]} did not provide $what" >&2
  exit 1
fi
echo "whepd: $what missing. Install it with: sudo apt-get install -y --no-install-recommends ${PKGS[*]}" >&2
exit 1
