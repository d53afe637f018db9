"""Copy the oha that labctl's image compiled into a folder on this machine (scripts/test).

Usage: python scripts/oha-from-image.py BIN_DIR. Builds the image first when it is missing.
Exits 1 with one line on stderr when the copy cannot be used here (scripts/test then compiles
oha with cargo).
"""

import sys
from pathlib import Path

from labctl.errors import LabctlError
from labctl.measure.loadgen.oha import install_from_image
from labctl.runtime.docker import DockerRuntime

if __name__ == "__main__":
    try:
        install_from_image(DockerRuntime(), Path(sys.argv[1]))
    except LabctlError as problem:
        sys.exit(f"[test] oha from the image: {problem}; compiling it with cargo instead")
