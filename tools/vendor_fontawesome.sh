#!/usr/bin/env bash
# Refresh the vendored Font Awesome Free 5 that the Voila template serves locally.
# Why: Voila's stock `lab` template loads Font Awesome from a CDN; the dashboard must make
# no request to any other host, so the CSS and web fonts ship inside the template.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/share/jupyter/voila/templates/explorer/static/fontawesome"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @fortawesome/fontawesome-free@5 >/dev/null && tar xzf ./*.tgz)
rm -rf "$dest"; mkdir -p "$dest/css" "$dest/webfonts"
cp "$tmp/package/css/all.min.css" "$tmp/package/css/v4-shims.min.css" "$dest/css/"
# Modern browsers use woff2/woff/ttf; the .eot/.svg fallbacks are only for very old ones.
cp "$tmp/package/webfonts/"*.woff2 "$tmp/package/webfonts/"*.woff "$tmp/package/webfonts/"*.ttf "$dest/webfonts/"
cp "$tmp/package/LICENSE.txt" "$dest/LICENSE.txt"
echo "vendored $(grep -o '"version": "[^"]*"' "$tmp/package/package.json")"
