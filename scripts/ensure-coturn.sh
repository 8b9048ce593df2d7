#!/usr/bin/env bash
# Makes sure e2e/turn can run coturn's `turnserver` as a child of the test: installs Debian's
# coturn when it is missing and running as root, otherwise prints the exact command and fails.
#   scripts/ensure-coturn.sh        (exit 0: ready; 1: missing, with the command to run on stderr)
#
# The package's own service is never started: Debian's coturn enables coturn.service, and with
# the shipped /etc/turnserver.conf (no credentials set) turnserver runs without authentication,
# an open relay on every interface. So the install runs under a policy-rc.d that refuses every
# service start (Debian's policy-rc.d interface, honoured by invoke-rc.d and deb-systemd-invoke;
# an existing policy-rc.d is left alone), and a coturn installed here is disabled at boot too.
set -euo pipefail
PKG=coturn
POLICY=/usr/sbin/policy-rc.d

command -v turnserver >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "whepd: turnserver is missing; installing Debian package $PKG (its service is not started, and is disabled)" >&2
  made_policy=""
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# Written by whepd scripts/ensure-coturn.sh for one apt-get run.\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    made_policy=1
  fi
  trap '[ -z "$made_policy" ] || rm -f "$POLICY"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$PKG" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$PKG" >/dev/null; }
  # Not at boot either (works with or without a running systemd).
  if command -v deb-systemd-helper >/dev/null 2>&1; then deb-systemd-helper disable coturn.service >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d coturn disable >/dev/null 2>&1 || true; fi
  command -v turnserver >/dev/null 2>&1 && exit 0
  echo "whepd: installing $PKG did not provide turnserver" >&2
  exit 1
fi
echo "whepd: turnserver is missing. Install it with: sudo apt-get install -y --no-install-recommends $PKG (then: sudo systemctl disable --now coturn; e2e/turn runs its own turnserver)" >&2
exit 1
