#!/usr/bin/env bash
# Not run on the host: scripts/build-base-images.sh passes it to `bash -euo pipefail -c`.
# Runs inside labctl-local/debian after the host's GOROOT was streamed to
# /usr/local/go. Mirrors the layout of the official golang image.
mkdir -p "$GOPATH/src" "$GOPATH/bin"
# Official image lets any uid build into GOPATH; do the same.
chmod -R 1777 "$GOPATH"
go version
