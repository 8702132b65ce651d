#!/usr/bin/env bash
# Installs the Debian 12 packages antt needs to build, test and run, and only
# those that are missing. Safe to run again; does nothing when all are present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git ca-certificates procps curl
  libuv1-dev libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
  libpq-dev postgresql-15 postgresql-contrib postgresql-15-postgis-3
  libh2o-dev libssl-dev zlib1g-dev libsodium-dev libutf8proc-dev
  libcmocka-dev libjansson-dev libxml2-dev libcurl4-openssl-dev libcsv-dev prometheus
  chromium chromium-driver poppler-utils libsystemd-dev tmux
  # the modules FixMyStreet's Open311 client speaks with (tests/fms), and
  # python3 for the python Open311 client's calls (tests/open311_python)
  python3 libwww-perl liburi-perl libhttp-message-perl libxml-simple-perl libdatetime-format-w3cdtf-perl
  # PostgreSQL HA (deploy/ha, tests/ha): Patroni, etcd, HAProxy, pgBackRest
  patroni etcd-server etcd-client haproxy pgbackrest
)

# node and npm build the dashboard's bundle (npm ci, esbuild); a node that
# came with its own npm (another packaging of it) is used as it is
command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || PKGS+=(nodejs npm)

# `deps.sh fuzz`: also clang, for libFuzzer (make fuzz)
[ "${1:-}" = fuzz ] && PKGS+=(clang)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
