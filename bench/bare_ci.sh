#!/usr/bin/env bash
# CI from a bare machine, on this one: what `.ci/run` costs when nothing is cached.
#
# Issue 27 asks for CI under 25 minutes from a bare machine. A fresh clone on a machine that has
# run the tests before reuses the engine's images and layers, oha on PATH and every toolchain's
# caches, so it measures a warm machine. This runs `.ci/run` on a fresh clone of the committed
# HEAD, as CI does (no stdin, no image variables, no virtual environment), with:
#   - a Docker engine with an empty data root: no base, generator or server image, no layer;
#   - empty toolchain caches: XDG_CACHE_HOME (labctl's, Go's build cache, pip's), GOMODCACHE,
#     npm's cache and CARGO_HOME (crates.io's index and sources);
#   - no oha on PATH, and debootstrap's package cache moved aside;
# then puts the machine back as it was: the engine restarted on its own data root with its own
# command line, the cache put back. Debian packages the test command would install are not
# removed (install them in a fresh container to time that step). At the end it prints where the
# time went (bench/ci_phases.py) and keeps the log and the junit XML.
#
# Root only, Linux only. It stops this machine's dockerd for the length of the run (about 35
# minutes on 2 cores), so it refuses while any container runs, and when systemd manages the
# engine (systemd would restart it on the old data root). Sends no traffic anywhere but what the
# test suite sends (loopback, its own containers and namespaces, the package registries).
#
# Usage: sudo bench/bare_ci.sh [OUTPUT_DIR]   (default: a new folder under /tmp)
set -euo pipefail

say() { printf '[bare-ci %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d /tmp/labctl-bare-ci.XXXXXX)}
mkdir -p "$out"

[ "$(id -u)" -eq 0 ] || die "run it as root: it stops and starts dockerd"
[ "$(uname -s)" = Linux ] || die "Linux only: it starts dockerd itself"
engine_pid=$(pgrep -x -o dockerd) || die "no dockerd runs here: start one (scripts/ensure-docker-engine.sh) and run again"
if command -v systemctl >/dev/null && systemctl is-active --quiet docker 2>/dev/null; then
    die "systemd manages this engine and would restart it on its own data root: stop it with systemctl and start dockerd by hand"
fi
[ -z "$(docker ps -q)" ] || die "containers are running; this stops the engine: stop them and run again"

# The engine's own command line, to start it again exactly so afterwards.
mapfile -d '' engine_argv < "/proc/$engine_pid/cmdline"
debootstrap_cache=/var/cache/labctl-debootstrap
work=$(mktemp -d /tmp/labctl-bare-work.XXXXXX)

restore() {
    local status=$?
    say "putting the machine back"
    if [ -f "$work/dockerd.pid" ]; then
        kill "$(cat "$work/dockerd.pid")" 2>/dev/null || true
        for _ in $(seq 60); do pgrep -x dockerd >/dev/null || break; sleep 1; done
    fi
    if [ -e "$work/debootstrap-cache" ]; then
        rm -rf "$debootstrap_cache"
        mv "$work/debootstrap-cache" "$debootstrap_cache"
    fi
    if ! pgrep -x dockerd >/dev/null; then
        setsid nohup "${engine_argv[@]}" >>"$out/engine-restart.log" 2>&1 </dev/null &
        for _ in $(seq 60); do docker version >/dev/null 2>&1 && break; sleep 1; done
        docker version >/dev/null 2>&1 && say "engine back: ${engine_argv[*]}" \
            || say "the engine did not come back; its log: $out/engine-restart.log"
    fi
    rm -rf --one-file-system "$work"
    exit "$status"
}
trap restore EXIT
trap 'exit 130' INT TERM

say "stopping dockerd ($engine_pid: ${engine_argv[*]})"
kill "$engine_pid"
for _ in $(seq 60); do pgrep -x dockerd >/dev/null || break; sleep 1; done
! pgrep -x dockerd >/dev/null || die "dockerd did not stop within 60 s"

[ -e "$debootstrap_cache" ] && mv "$debootstrap_cache" "$work/debootstrap-cache"
mkdir -p "$work/data-root" "$work/cargo/bin" "$work/tools"
setsid nohup dockerd --data-root "$work/data-root" -p "$work/dockerd.pid" \
    >"$out/dockerd.log" 2>&1 </dev/null &
for _ in $(seq 60); do docker version >/dev/null 2>&1 && break; sleep 1; done
docker version >/dev/null 2>&1 || die "the bare engine did not start; its log: $out/dockerd.log"

# PATH without oha: cargo's bin folder holds both rustup's proxies and any `cargo install`ed
# tool, so its entries other than oha are linked into a folder of their own (a rustup proxy
# works by the name it is called under).
path=$work/cargo/bin:$work/tools
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
    if [ -e "$dir/oha" ]; then
        for tool in "$dir"/*; do
            # The first of a name on PATH wins, as it would have (PATH may list a folder twice).
            name=$(basename "$tool")
            [ "$name" = oha ] || [ -e "$work/tools/$name" ] || ln -s "$tool" "$work/tools/$name"
        done
    else
        path=$path:$dir
    fi
done

git clone -q "$repo" "$work/clone"
say "CI on a bare engine at $(git -C "$work/clone" rev-parse --short HEAD); log: $out/ci.log"
status=0
(cd "$work/clone" && env -u VIRTUAL_ENV -u LABCTL_GO_IMAGE -u LABCTL_PYTHON_IMAGE \
    -u LABCTL_DEBIAN_IMAGE -u LABCTL_RUST_IMAGE -u LABCTL_NODE_IMAGE \
    XDG_CACHE_HOME="$work/cache" GOMODCACHE="$work/gomod" npm_config_cache="$work/npm" \
    CARGO_HOME="$work/cargo" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" PATH="$path" \
    PYTEST_ADDOPTS="--junitxml=$out/junit.xml" \
    .ci/run </dev/null >"$out/ci.log" 2>&1) || status=$?
say "CI exit status $status"
python3 "$repo/bench/ci_phases.py" "$out/ci.log" || true
say "log and junit XML kept in $out"
exit "$status"
