#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info` on this machine.
#
# CI starts on a bare machine without Docker and without systemd, so when
# nothing answers we install Debian's docker.io and run dockerd ourselves.
# Safe to call repeatedly: it does nothing once an engine is up.
#
# Env knobs:
#   DOCKERD_LOG           where dockerd writes its log (default /var/log/labctl-dockerd.log)
#   DOCKERD_WAIT_SECONDS  how long to wait for the engine (default 60)
set -euo pipefail

LOG=${DOCKERD_LOG:-/var/log/labctl-dockerd.log}
WAIT=${DOCKERD_WAIT_SECONDS:-60}

say() { printf 'ensure-docker-engine: %s\n' "$*" >&2; }

engine_up() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if engine_up; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    say "no Docker engine answers and starting one needs root; run this as root or start dockerd first"
    exit 1
fi

# Install only what is missing, so a machine with Docker but a stopped
# daemon does not pay for apt.
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    say "installing docker.io from the Debian mirror"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q docker.io >&2
fi

# The package's maintainer scripts may already have started a daemon (or
# another job did): then only wait, never start a second one on the
# same socket.
if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is already running; waiting for it to answer"
    started_pid=""
else
    say "starting dockerd (log: $LOG)"
    mkdir -p "$(dirname "$LOG")"
    # setsid + nohup: the daemon must outlive this script and its shell.
    setsid nohup dockerd >"$LOG" 2>&1 </dev/null &
    started_pid=$!
fi

deadline=$((SECONDS + WAIT))
while ! engine_up; do
    if [ -n "$started_pid" ] && ! kill -0 "$started_pid" 2>/dev/null; then
        say "dockerd exited before it was ready; last lines of $LOG:"
        tail -n 40 "$LOG" >&2 || true
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        if [ -z "$started_pid" ]; then
            say "the running dockerd did not answer within ${WAIT}s (check DOCKER_HOST and its own log)"
        else
            say "docker engine did not answer within ${WAIT}s; last lines of $LOG:"
            tail -n 40 "$LOG" >&2 || true
        fi
        exit 1
    fi
    sleep 1
done
say "docker engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
