#!/usr/bin/env bash
# Make sure the browser tests' tools are installed: Debian's chromium at /usr/bin/chromium
# (driven through Playwright; `playwright install` is not used: its download is often blocked)
# and strace (the test that proves the browser connects to nothing but this machine).
# Idempotent and quiet: does nothing when both are there. Fonts come explicitly (chromium
# only recommends them): without them the screenshots show boxes for ✔ and ✘.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
[[ -x $CHROMIUM ]] && command -v strace >/dev/null 2>&1 && exit 0

fail() { echo "ensure_tools: $*" >&2; exit 1; }

command -v apt-get >/dev/null 2>&1 \
  || fail "$CHROMIUM is missing and apt-get is not available: install Chromium by hand" \
          "(the browser tests look for $CHROMIUM)."

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  fail "$CHROMIUM or strace is missing and installing them needs root: run" \
       "'sudo apt-get update && sudo apt-get install -y chromium strace'."
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "ensure_tools: installing chromium and strace with apt-get (about 30 s)..." >&2
if ! { "${SUDO[@]}" apt-get update -qq \
       && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends \
              chromium fonts-liberation fonts-dejavu-core strace; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  fail "apt-get could not install chromium (output above)."
fi
[[ -x $CHROMIUM ]] || fail "apt-get installed chromium but $CHROMIUM is still missing."
command -v strace >/dev/null 2>&1 || fail "apt-get installed strace but it is not on PATH."
