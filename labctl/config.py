"""User configuration: base-image overrides and runtime defaults.

Looked up in this order: environment variables, then ``config.toml`` in the user config
directory (``~/.config/labctl/config.toml`` on Linux), then the built-in defaults. Base images
are how a learner behind a registry mirror, or a machine with no registry at all, points the
Dockerfiles at images it does have; the Dockerfiles themselves never change.

    # ~/.config/labctl/config.toml
    runtime = "docker"
    [images]
    GO_IMAGE = "mirror.example/library/golang:1.26"
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from labctl.errors import EnvironmentProblem

# platformdirs and tomllib are imported where a setting is first read: `labctl --help` imports
# this module (for CLIENT_CONTEXT_VARIABLE) and reads no setting.

# The load generator's image is built from this one (Debian's wrk package).
# --client-context's variable: the Docker context whose engine runs the probe and load
# generator (labctl/runtime/client_engine.py). Here, not there, because the command-line options
# name it and must not import the runtime to print --help.
CLIENT_CONTEXT_VARIABLE = "LABCTL_CLIENT_CONTEXT"
DEBIAN_IMAGE_ARG = "DEBIAN_IMAGE"
DEFAULT_DEBIAN_IMAGE = "debian:bookworm-slim"


def config_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("labctl", appauthor=False)) / "config.toml"


@cache
def _file_settings(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EnvironmentProblem(f"{path} is not valid TOML ({exc})",
                                 "Fix or delete that file") from None
    except OSError as exc:   # a directory, no permission, an I/O error
        raise EnvironmentProblem(f"cannot read {path} ({exc.strerror or exc})",
                                 "Fix or delete that file") from None


def settings() -> dict[str, Any]:
    return _file_settings(config_file())


def base_image(arg_name: str, default: str) -> str:
    """The image a Dockerfile's base-image ARG (e.g. GO_IMAGE) resolves to."""
    from_env = os.environ.get(f"LABCTL_{arg_name}")
    if from_env:
        return from_env
    images = settings().get("images", {})
    value = images.get(arg_name) if isinstance(images, dict) else None
    return value if isinstance(value, str) and value else default


def default_runtime() -> str:
    value = os.environ.get("LABCTL_RUNTIME") or settings().get("runtime") or "auto"
    return str(value)
