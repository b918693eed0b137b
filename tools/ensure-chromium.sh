#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright; Playwright
# cannot download a browser of its own here. Install it when missing and we are root; otherwise
# say how. In CI a missing browser is a failure, never a skip.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "Chromium is missing: install it with 'sudo apt-get install chromium' (Debian/Ubuntu)." >&2
if [ "${CI:-}" = "true" ]; then exit 1; fi
echo "Browser tests will be skipped." >&2
