#!/usr/bin/env bash
# Installs what bench/load.ts needs on a Debian machine with apt-get, only the packages that are
# missing (as root, or via sudo): wrk, curl, openssl (for its TLS certificate) and the peers nginx,
# h2o and lighttpd with its compression module (lighttpd-mod-deflate, a package of its own).
# Does nothing when all are present.
#
#   bash bench/install.sh        (`deno task bench` runs it before bench/load.ts)
set -euo pipefail

# A tool is present when it is on PATH or in /usr/sbin (nginx and lighttpd live there, which a
# non-root PATH may lack); the Debian package names are the tool names.
has_tool() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]
}

missing=()
for tool in wrk nginx curl openssl h2o lighttpd; do
  if ! has_tool "$tool"; then missing+=("$tool"); fi
done
# mod_deflate is not built into Debian's lighttpd; without it lighttpd ignores deflate.* settings.
if ! [ -e /usr/lib/lighttpd/mod_deflate.so ]; then missing+=(lighttpd-mod-deflate); fi
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
