#!/usr/bin/env bash
# Not run on the host: scripts/build-base-images.sh passes it to `bash -euo pipefail -c`.
# Runs inside labctl-local/debian; Python comes from the Debian mirror.
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip
rm -rf /var/lib/apt/lists/*
# Official images answer to `python` and `pip`.
ln -sf /usr/bin/python3 /usr/local/bin/python
ln -sf /usr/bin/pip3 /usr/local/bin/pip
# Official images let `pip install` write to the system site-packages;
# Debian's PEP 668 marker would refuse that inside server Dockerfiles.
rm -f /usr/lib/python3*/EXTERNALLY-MANAGED
python --version
pip --version
