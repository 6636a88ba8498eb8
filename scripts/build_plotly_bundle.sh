#!/usr/bin/env bash
# Builds pipeline/report/static/plotly-rbb.min.js: plotly.js with only the trace types the reports draw.
#
# For maintainers, not for a run of the pipeline (the built file is vendored in the package). Needs node, npm
# and the npm registry (the packages come from scripts/plotly-bundle/package-lock.json). The plotly.js version is the one the installed python plotly embeds, so the figure JSON
# that plotly writes matches the bundle that draws it:
#
#     bash scripts/build_plotly_bundle.sh            # the version of the installed plotly
#     PLOTLY_JS_VERSION=4.1.1 bash scripts/build_plotly_bundle.sh
#
# After a plotly upgrade or a new trace type in pipeline/report/figures.py: add the trace to TRACES, rebuild,
# run tests/report/test_plotly_bundle.py, and commit the bundle and its LICENSE together.
set -euo pipefail

TRACES=(scatter bar heatmap)   # keep in step with pipeline.report.pages.PLOTLY_TRACES

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
static="$here/pipeline/report/static"
version="${PLOTLY_JS_VERSION:-$(python -c 'import plotly.offline, re; print(re.search(r"plotly\.js v(\S+)", plotly.offline.get_plotlyjs()[:200]).group(1))')}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# scripts/plotly-bundle/ pins plotly.js, esbuild and every dependency (package-lock.json): the same inputs give
# the same bytes. For another plotly.js version: set it in package.json there, run
# `npm install --package-lock-only` in that folder, then this script.
pinned="$(node -p "require('$here/scripts/plotly-bundle/package.json').devDependencies['plotly.js']")"
if [ "$pinned" != "$version" ]; then
  echo "the installed python plotly embeds plotly.js $version, scripts/plotly-bundle/package.json pins $pinned" >&2
  exit 1
fi
cp "$here/scripts/plotly-bundle/package.json" "$here/scripts/plotly-bundle/package-lock.json" "$work/"
cd "$work"
npm ci --no-audit --no-fund --silent

{
  echo "var Plotly = require('plotly.js/lib/core');"
  echo "Plotly.register(["
  for t in "${TRACES[@]}"; do
    [ "$t" = scatter ] || echo "  require('plotly.js/lib/$t'),"
  done
  echo "]);"
  echo "module.exports = Plotly;"
} > entry.js

# the same esbuild settings as plotly.js's own dist build (esbuild-config.js); CSS is only imported for maps
node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --global-name=Plotly \
  --define:global=window --define:define.amd=false --target=es2016 --loader:.css=empty \
  --legal-comments=none --log-level=warning --outfile=bundle.js

{
  printf '/**\n* plotly.js v%s (partial bundle for rbb-benchmark: traces %s)\n' "$version" "$(IFS=,; echo "${TRACES[*]}")"
  grep -m1 -o 'Copyright [0-9-]*, Plotly, Inc\.' node_modules/plotly.js/dist/plotly.min.js | sed 's/^/* /'
  printf '* All rights reserved.\n* Licensed under the MIT license (plotly-rbb.LICENSE.txt)\n*/\n'
  cat bundle.js
} > "$static/plotly-rbb.min.js"
cp node_modules/plotly.js/LICENSE "$static/plotly-rbb.LICENSE.txt"
echo "wrote $static/plotly-rbb.min.js ($(wc -c < "$static/plotly-rbb.min.js") bytes, plotly.js $version: ${TRACES[*]})"
