#!/usr/bin/env bash
# Installs the project's Node tools (tools/node/package.json, versions pinned by package-lock.json):
# anvil, the local EVM node of the anchoring integration test, from the npm package
# @foundry-rs/anvil, which ships its binary; axe-core, the accessibility checker the viewer's
# browser tests inject into its pages; digital-link.js, the GS1 Digital Link toolkit that checks
# every Digital Link the project emits (tools/node/check-digital-links.js). Without npm it says
# so; the tests then skip, or fail where CI requires services (BATTERYTRACE_REQUIRE_SERVICES=1).
set -u
cd "$(dirname "$0")/../tools/node" || exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "batterytrace: npm is missing; the anvil, axe and digital-link.js tests need it (apt-get install npm)" >&2
  exit 0
fi
if ls node_modules/@foundry-rs/anvil-*/bin/anvil >/dev/null 2>&1 && [ -f node_modules/axe-core/axe.min.js ] \
  && [ -f node_modules/digital-link.js/src/index.js ]; then exit 0; fi
# `npm install --no-save` rather than `npm ci`: the lock records only the optional platform
# package of the machine that wrote it (linux-amd64), so `npm ci` finds it out of sync.
npm install --no-save --no-audit --no-fund --loglevel=error \
  || echo "batterytrace: npm install in tools/node failed" >&2
