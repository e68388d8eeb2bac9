#!/usr/bin/env bash
# Installs what coroner needs and is missing, with apt-get (Debian/Ubuntu). Nothing else by hand.
#   required: libpcap-dev (build), pkg-config
#   for the tests: tshark and tcpdump (tests that compare with tshark skip when it is absent)
# Usage: scripts/ensure-deps.sh [--for-tests]
set -euo pipefail
need=()
pkg-config --exists libpcap 2>/dev/null || need+=(libpcap-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ "${1:-}" = "--for-tests" ]; then
  command -v tshark >/dev/null || need+=(tshark)
  command -v tcpdump >/dev/null || need+=(tcpdump)
fi
if ! command -v swift >/dev/null; then
  echo "coroner needs a Swift 6 toolchain on PATH (https://www.swift.org/install/linux/)." >&2
  exit 1
fi
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Please install: ${need[*]} (no apt-get on this machine)." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Run as root or install sudo to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "Installing: ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
