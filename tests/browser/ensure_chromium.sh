#!/usr/bin/env bash
# Make sure Debian's chromium is installed at /usr/bin/chromium (the browser tests drive it
# through Playwright; `playwright install` is not used: its download is often blocked).
# Idempotent and quiet: does nothing when chromium is already there. Fonts come explicitly
# (chromium only recommends them): without them the screenshots show boxes for ✔ and ✘.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
[[ -x $CHROMIUM ]] && exit 0

fail() { echo "ensure_chromium: $*" >&2; exit 1; }

command -v apt-get >/dev/null 2>&1 \
  || fail "$CHROMIUM is missing and apt-get is not available: install Chromium by hand" \
          "(the browser tests look for $CHROMIUM)."

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  fail "$CHROMIUM is missing and installing it needs root: run" \
       "'sudo apt-get update && sudo apt-get install -y chromium'."
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "ensure_chromium: installing chromium with apt-get (about 30 s)..." >&2
if ! { "${SUDO[@]}" apt-get update -qq \
       && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends \
              chromium fonts-liberation fonts-dejavu-core; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  fail "apt-get could not install chromium (output above)."
fi
[[ -x $CHROMIUM ]] || fail "apt-get installed chromium but $CHROMIUM is still missing."
