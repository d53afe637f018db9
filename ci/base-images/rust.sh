#!/usr/bin/env bash
# Not run on the host: scripts/build-base-images.sh passes it to `bash -euo pipefail -c`.
# Runs inside labctl-local/debian after the host's stable toolchain was
# streamed to /usr/local/rust.
export DEBIAN_FRONTEND=noninteractive
# cc is rustc's linker; libc6-dev also brings libc.a for +crt-static builds.
apt-get update -q
apt-get install -y -q --no-install-recommends gcc libc6-dev
rm -rf /var/lib/apt/lists/*
# CARGO_HOME holds the registry cache; keep it writable for any uid like
# the official image does.
mkdir -p "$CARGO_HOME/bin"
chmod -R a+w "$CARGO_HOME"
rustc --version
cargo --version
