#!/usr/bin/env bash
# Check that each local base image can fetch from its package registry
# through this machine's TLS-intercepting proxy, i.e. that the CA setup
# baked in by build-base-images.sh works. Each check runs in a throwaway
# container on the default bridge network, like `docker build` does.
#
# Usage: scripts/verify-base-images.sh [debian|golang|rust|node|python ...]
# Images come from LABCTL_*_IMAGE when set (as printed by
# build-base-images.sh), else the labctl-local/* defaults.
# Exit status is non-zero if any check failed; a summary table goes to stdout.
set -uo pipefail

declare -A image=(
    [debian]=${LABCTL_DEBIAN_IMAGE:-labctl-local/debian:bookworm}
    [golang]=${LABCTL_GO_IMAGE:-labctl-local/golang:ci}
    [rust]=${LABCTL_RUST_IMAGE:-labctl-local/rust:ci}
    [node]=${LABCTL_NODE_IMAGE:-labctl-local/node:ci}
    [python]=${LABCTL_PYTHON_IMAGE:-labctl-local/python:ci}
)

declare -A check
check[debian]='
apt-get update -q
apt-get install -y -q --no-install-recommends wrk
command -v wrk'

# A module outside the standard library, resolved through GOPROXY and
# checked against GOSUMDB.
check[golang]='
mkdir -p /tmp/m && cd /tmp/m
go mod init example.com/m
cat >main.go <<EOF
package main

import (
	"fmt"

	"golang.org/x/sync/errgroup"
)

func main() {
	var g errgroup.Group
	g.Go(func() error { return nil })
	fmt.Println("errgroup ok:", g.Wait() == nil)
}
EOF
go mod tidy
CGO_ENABLED=0 go build -o app .
./app'

# crates.io over the sparse index, then a fully static glibc binary as the
# server Dockerfile builds it.
# shellcheck disable=SC2016  # expanded inside the container
check[rust]='
cd /tmp
cargo new -q hello && cd hello
cargo add -q itoa
cat >src/main.rs <<EOF
fn main() {
    let mut buf = itoa::Buffer::new();
    println!("itoa ok: {}", buf.format(42));
}
EOF
target=$(rustc -vV | sed -n "s/^host: //p")
RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --target "$target"
bin=target/$target/release/hello
"./$bin"
if readelf -l "$bin" | grep -q "program interpreter"; then
    echo "NOT static:"; ldd "$bin"; exit 1
fi
echo "static binary: $(du -h "$bin" | cut -f1)"'

check[node]='
mkdir -p /tmp/a && cd /tmp/a
npm init -y >/dev/null
npm install --no-audit express
node -e "require(\"express\"); console.log(\"express ok\", require(\"express/package.json\").version)"'

check[python]='
python -m venv /v
/v/bin/pip install -q fastapi
/v/bin/python -c "import fastapi; print(\"fastapi ok\", fastapi.__version__)"'

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(debian golang rust node python)

now() { printf '%s' "${EPOCHREALTIME/[.,]/}"; }
fail=0
summary=()
for n in "${names[@]}"; do
    if [ -z "${check[$n]:-}" ]; then
        echo "unknown image name: $n" >&2; exit 2
    fi
    img=${image[$n]}
    size=$(docker image inspect -f '{{.Size}}' "$img" 2>/dev/null) || {
        summary+=("$(printf '%-7s %-30s %8s %8s %s' "$n" "$img" - - MISSING)"); fail=1; continue; }
    printf '== %s (%s)\n' "$n" "$img" >&2
    t=$(now)
    if docker run --rm "$img" bash -euo pipefail -c "${check[$n]}" >&2; then
        result=ok
    else
        result=FAILED; fail=1
    fi
    d=$(( $(now) - t ))
    summary+=("$(printf '%-7s %-30s %6dMB %7d.%01ds %s' "$n" "$img" $((size / 1000000)) \
        $((d / 1000000)) $((d / 100000 % 10)) "$result")")
done

printf '%-7s %-30s %8s %9s %s\n' name image size time result
printf '%s\n' "${summary[@]}"
exit "$fail"
