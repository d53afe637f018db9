#!/usr/bin/env bash
# Not run on the host: scripts/build-base-images.sh passes it to `bash -euo pipefail -c`.
# Runs inside labctl-local/debian. Python is either a CPython at the
# Dockerfile's pinned minor, streamed to /usr/local by the script (as the
# official image keeps it), or, when this machine has none, Debian's python3.
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
streamed=$(find /usr/local/bin -maxdepth 1 -regex '.*/python3\.[0-9]+' | sort | tail -n1)
if [ -n "$streamed" ]; then
    # The shared libraries its interpreter and extension modules link against.
    apt-get install -y -q --no-install-recommends libssl3 libffi8 libsqlite3-0 zlib1g libbz2-1.0 \
        liblzma5 libncursesw6 libreadline8 libgdbm6 libgdbm-compat4 libuuid1 libexpat1 libnsl2 \
        libtirpc3 libdb5.3
    ldconfig   # libpython3.x.so now comes from /usr/local/lib
    ln -sf "$(basename "$streamed")" /usr/local/bin/python3
    ln -sf python3 /usr/local/bin/python
    # Its own pip scripts name the host's path in their first line: wrap the module instead.
    for name in pip pip3; do
        printf '#!/bin/sh\nexec /usr/local/bin/python3 -m pip "$@"\n' >"/usr/local/bin/$name"
        chmod 755 "/usr/local/bin/$name"
    done
else
    apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip
    # Official images answer to `python` and `pip`.
    ln -sf /usr/bin/python3 /usr/local/bin/python
    ln -sf /usr/bin/pip3 /usr/local/bin/pip
    # Official images let `pip install` write to the system site-packages;
    # Debian's PEP 668 marker would refuse that inside server Dockerfiles.
    rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
fi
rm -rf /var/lib/apt/lists/*
python --version
python -c 'import ssl, sqlite3, ctypes, zlib, bz2, lzma, venv, ensurepip'
pip --version
