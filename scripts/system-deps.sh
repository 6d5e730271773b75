#!/usr/bin/env bash
# Installs the Debian packages batterytrace needs (libsodium for ristretto255; npm for the Node
# tools; Chromium for the passport viewer's browser tests; wrk for the HTTP load benchmark; Go and
# golang.org/x/mod, whose sumdb/note package is the third-party verifier of the log's checkpoint
# notes, built offline from Debian's sources by tests/ledger/test_checkpoint_note_thirdparty.py) when
# they are missing and this user may install them, then the Node tools (anvil). Prints what is
# missing otherwise; never fails the build by itself: the tests that need a missing library or
# tool say so.
set -u
need=()
ldconfig -p 2>/dev/null | grep -q 'libsodium\.so' || need+=(libsodium23)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v curl >/dev/null 2>&1 || need+=(curl)   # docs/integrate.md (tests/test_integrate.py)
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -f /usr/share/gocode/src/golang.org/x/mod/sumdb/note/note.go ] || need+=(golang-golang-x-mod-dev)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "batterytrace: please install: ${need[*]} (Debian/Ubuntu: apt-get install ${need[*]})" >&2
  fi
fi
bash "$(dirname "$0")/node-tools.sh"
