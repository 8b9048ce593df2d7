#!/usr/bin/env bash
# Makes sure a command from a Debian package is installed: installs it with apt-get when missing
# and running as root, otherwise prints the exact command to run and fails.
#   scripts/ensure-tool.sh <command> <debian-package>
set -euo pipefail
cmd="$1"
pkg="$2"
if command -v "$cmd" >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "whepd: $cmd is missing; installing Debian package $pkg" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  command -v "$cmd" >/dev/null 2>&1 && exit 0
  echo "whepd: installing $pkg did not provide $cmd" >&2
  exit 1
fi
echo "whepd: $cmd is missing. Install it with: sudo apt-get install -y $pkg" >&2
exit 1
