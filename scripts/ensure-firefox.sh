#!/usr/bin/env bash
# Makes sure Debian's firefox-esr is there for e2e/firefox: installs the Debian package when it is
# missing and running as root, otherwise prints the exact command and fails. Nothing else is ever
# used: no browser download (Puppeteer's or Mozilla's), only the distribution's package.
#   scripts/ensure-firefox.sh        (exit 0: ready, its version on stdout; 1: missing, the command on stderr)
# FIREFOX=<path> checks another binary instead (then nothing is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}

if [ "$FIREFOX" = /usr/bin/firefox-esr ] && [ ! -x "$FIREFOX" ]; then
  scripts/ensure-tool.sh firefox-esr firefox-esr
fi
if [ ! -x "$FIREFOX" ]; then
  echo "whepd: $FIREFOX is missing. Install Debian's Firefox ESR with: sudo apt-get install -y --no-install-recommends firefox-esr" >&2
  exit 1
fi
# --version reads application.ini and starts no browser (no profile, no network).
if ! version=$("$FIREFOX" --version 2>/dev/null); then
  echo "whepd: $FIREFOX --version failed; reinstall it with: sudo apt-get install -y --reinstall firefox-esr" >&2
  exit 1
fi
echo "$version"
