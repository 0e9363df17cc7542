#!/usr/bin/env bash
# Installs the Debian 12 packages sevwatch builds and tests with.
# Does nothing when they are already installed. Run as root (or with sudo).
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libyaml-cpp-dev libfmt-dev catch2 libsimdjson-dev libre2-dev
  libsqlite3-dev sqlite3 libpq-dev librdkafka-dev zlib1g-dev
  libssl-dev
  postgresql postgresql-15
  python3 python3-jsonschema
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
