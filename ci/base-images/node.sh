#!/usr/bin/env bash
# Not run on the host: scripts/build-base-images.sh passes it to `bash -euo pipefail -c`.
# Runs inside labctl-local/debian after the host's node binary and its
# global npm/corepack packages were streamed to /usr/local.
cd /usr/local/bin || exit 1
# Same entry points as the official image.
ln -sf ../lib/node_modules/npm/bin/npm-cli.js npm
ln -sf ../lib/node_modules/npm/bin/npx-cli.js npx
if [ -d ../lib/node_modules/corepack ]; then
    ln -sf ../lib/node_modules/corepack/dist/corepack.js corepack
fi
# The official image ships an unprivileged `node` user (uid 1000).
groupadd --gid 1000 node
useradd --uid 1000 --gid node --shell /bin/bash --create-home node
node --version
npm --version
