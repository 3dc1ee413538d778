#!/usr/bin/env bash
# Installs what bench/load.ts needs on a Debian machine: wrk, nginx, curl and openssl (for its
# TLS certificate), with apt-get, only those that are missing (as root, or via sudo). Does nothing
# when all four are on PATH.
#
#   bash bench/install.sh        (`deno task bench` runs it before bench/load.ts)
set -euo pipefail

missing=()
for tool in wrk nginx curl openssl; do
  # nginx lives in /usr/sbin, which a non-root PATH may lack; the Debian package names are the
  # tool names.
  if ! command -v "$tool" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$tool" ]; then
    missing+=("$tool")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench/install.sh: ${missing[*]} missing and no apt-get; install them by hand" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "bench/install.sh: ${missing[*]} missing; run as root (or install sudo)" >&2
    exit 1
  fi
  as_root=(sudo)
fi
echo "bench/install.sh: installing ${missing[*]} with apt-get" >&2
"${as_root[@]}" apt-get update -q >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
