#!/usr/bin/env bash
# Refresh the vendored plotly.js "basic" bundle (scatter, bar) served by the Voila template.
# Why: the dashboard's plots are drawn by a small widget that loads plotly.js once per browser
# from this static file (cacheable, ~1.2 MB) instead of plotly's FigureWidget, which sends a
# 5 MB bundle over the websocket to every viewer, every time. Keep the version in step with the
# plotly.js that the installed plotly.py was built for (see plotly/package_data/plotly.min.js).
set -euo pipefail
version=${1:-4.1.1}
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/share/jupyter/voila/templates/explorer/static/plotly"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "plotly.js-basic-dist-min@$version" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$dest"
cp "$tmp/package/plotly-basic.min.js" "$tmp/package/LICENSE" "$dest/"
echo "vendored plotly.js-basic-dist-min $version"
