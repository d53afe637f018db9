"""The servers, described as data: each folder under servers/ has a ``server.toml``
(documented in docs/server-toml.md), and so may any folder a learner points labctl at.

Everything that differs between servers lives in those files and the folders beside them; the
runtimes, the probe and the comparison are generic and never branch on a language by name.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from labctl import paths
from labctl.errors import UsageProblem

SERVER_TOML = "server.toml"
FORMAT_VERSION = 1
SHIPPED = ("go", "python", "rust", "node")      # the order every table lists them in
BLOCKING_UNITS = ("connection", "event-loop", "worker-thread")
# The programs a local build may need (runtime/local.py knows how to check each one).
TOOLCHAINS = ("go", "cargo", "node", "npm", "python3")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
# Placeholders a local build step or command may use (see docs/server-toml.md).
PLACEHOLDERS = ("{out}", "{src}", "{shared}", "{deps}", "{python}")


@dataclass(frozen=True)
class Server:
    name: str                       # go | python | rust | node: used in tags, labels, results
    language: str                   # for people: "Go"
    framework: str                  # for people: "net/http"
    aliases: tuple[str, ...]
    greeting: str                   # the exact body of GET /
    source_file: str                # the file a learner reads first (shown by `labctl show`)
    base_image_arg: str             # the Dockerfile ARG that names its base image
    default_base_image: str         # that ARG's default: the official image
    concurrency_model: str          # how it serves requests, in a phrase (shown with results)
    processes: int = 1              # OS processes serving requests in the container
    # About how long a build from nothing takes (seconds, 2 cores): a first compare builds the
    # cheapest first, to show a server as soon as possible (labctl/measure/first_look.py).
    first_build_seconds: int = 60
    # What a *blocking* wait inside a handler ties up (the bottleneck lab's model):
    # "connection" (a goroutine per connection), "event-loop" (the one loop), "worker-thread"
    # (one of the runtime's worker threads, one per core).
    blocking_unit: str = "event-loop"
    toolchain: tuple[str, ...] = field(default=())  # commands the local runtime needs
    # Where the source lives when it is not servers/<name> (a --source folder, test fixtures).
    source_override: Path | None = None
    show: tuple[str, ...] = ()      # every file worth reading, source_file first
    port: int = 8080                # the port it listens on inside its container
    health_path: str = "/health"    # answered 200 once it is ready
    dockerfile: str = "Dockerfile"
    # How the local runtime builds and starts it: argv lists with PLACEHOLDERS.
    local_build: tuple[tuple[str, ...], ...] = ()
    local_command: tuple[str, ...] = ()
    # The dependency files (requirements.txt, package-lock.json…) and the steps that install
    # what they name into {deps}: a folder built once per set of those files' contents and
    # shared by every copy of the server, so an exercise's copies and each edit reuse it.
    local_deps: tuple[str, ...] = ()
    local_deps_build: tuple[tuple[str, ...], ...] = ()
    # Where the pinned framework version is read: a file, a regex with one group, a template.
    version_file: str = ""
    version_pattern: str = ""
    version_template: str = "{}"

    @property
    def title(self) -> str:
        return f"{self.language} {self.framework}"

    @property
    def source_dir(self) -> Path:
        return self.source_override or paths.servers_dir() / self.name

    @property
    def shipped(self) -> bool:
        return self.source_override is None or self.source_override == paths.servers_dir() / self.name

    @property
    def image_tag(self) -> str:
        # A copy of a shipped server elsewhere (a learner's exercise, say) gets its own tag, so
        # building it never replaces the image of servers/<name>; the layer cache is shared.
        if self.name in SHIPPED and not self.shipped:
            where = hashlib.sha256(str(self.source_dir.resolve()).encode()).hexdigest()[:8]
            return f"labctl/{self.name}-{where}:latest"
        return f"labctl/{self.name}:latest"

    def framework_version(self) -> str:
        """The framework version pinned by the server's own lockfile (what really runs)."""
        if not (self.version_file and self.version_pattern):
            return "?"
        try:
            text = (self.source_dir / self.version_file).read_text()
        except OSError:
            return "?"
        match = re.search(self.version_pattern, text, re.MULTILINE)
        return self.version_template.format(match.group(1)) if match else "?"


# -- reading server.toml ----------------------------------------------------------------------

def _problem(path: Path, where: str, what: str, hint: str | None = None) -> UsageProblem:
    return UsageProblem(f"{path}: {where}: {what}",
                        hint or f"See docs/server-toml.md for the format of {SERVER_TOML}")


class _Reader:
    """Typed access to one table of a server.toml, naming file and field in every error."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def fail(self, key: str, what: str, hint: str | None = None) -> UsageProblem:
        return _problem(self.path, f"{self.prefix}{key}", what, hint)

    def value(self, key: str, kind: type, default: Any = ..., *, nonempty: bool = True) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "missing (required)")
            return default
        value = self.table[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(key, f"must be a whole number, not {value!r}")
        if not isinstance(value, kind):
            raise self.fail(key, f"must be a {kind.__name__}, not {value!r}")
        if nonempty and isinstance(value, str) and not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def strings(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.value(key, list, default, nonempty=False)
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.fail(f"{key}[{index}]", f"must be a non-empty string, not {item!r}")
        return tuple(value)

    def argv_list(self, key: str) -> tuple[tuple[str, ...], ...]:
        value = self.value(key, list)
        steps = []
        for index in range(len(value)):
            steps.append(_Reader(self.path, {"step": value[index]}, f"{self.prefix}{key}[{index}]/")
                         .strings("step"))
            if not steps[-1]:
                raise self.fail(f"{key}[{index}]", "an empty command")
        return tuple(steps)

    def sub(self, key: str) -> _Reader:
        return _Reader(self.path, self.value(key, dict), f"{self.prefix}{key}.")

    def no_unknown(self, known: set[str]) -> None:
        for key in self.table:
            if key not in known:
                raise self.fail(key, "unknown field",
                                "Known fields: " + ", ".join(sorted(known)))


_TOP = {"format_version", "name", "language", "framework", "aliases", "greeting", "show", "port",
        "health_path", "concurrency_model", "blocking_unit", "processes", "first_build_seconds",
        "framework_version",
        "docker", "local"}


def load_folder(folder: Path) -> Server:
    """The server a folder's server.toml describes; every mistake names the file and field."""
    folder = Path(folder)
    path = folder / SERVER_TOML
    if not folder.is_dir():
        raise UsageProblem(f"{folder} is not a folder",
                           "Give a folder holding a server.toml and a Dockerfile")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageProblem(f"{path} does not exist",
                           "Every server folder needs a server.toml: copy one from servers/go "
                           "and see docs/server-toml.md") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _problem(path, "TOML syntax", str(exc)) from None
    top = _Reader(path, data)
    top.no_unknown(_TOP)
    version = top.value("format_version", int)
    if version != FORMAT_VERSION:
        raise top.fail("format_version", f"this labctl reads format {FORMAT_VERSION}, not {version}")
    name = top.value("name", str)
    if not NAME_RE.match(name):
        raise top.fail("name", f"'{name}' must be lower-case letters, digits and dashes "
                               "(it becomes part of an image tag)")
    show = top.strings("show")
    if not show:
        raise top.fail("show", "must name at least one file")
    for index, file in enumerate(show):
        if file.startswith("/") or ".." in Path(file).parts:
            raise top.fail(f"show[{index}]", f"'{file}' must be a path inside the folder")
        if not (folder / file).is_file():
            raise top.fail(f"show[{index}]", f"'{file}' is not a file in {folder}")
    port = top.value("port", int, 8080)
    if not 1 <= port <= 65535:
        raise top.fail("port", f"{port} is not a TCP port")
    health_path = top.value("health_path", str, "/health")
    if not health_path.startswith("/"):
        raise top.fail("health_path", f"'{health_path}' must start with /")
    blocking_unit = top.value("blocking_unit", str, "event-loop")
    if blocking_unit not in BLOCKING_UNITS:
        raise top.fail("blocking_unit", f"'{blocking_unit}' is not one of "
                                        + ", ".join(BLOCKING_UNITS))
    processes = top.value("processes", int, 1)
    first_build_seconds = top.value("first_build_seconds", int, 60)
    if processes < 1:
        raise top.fail("processes", "must be at least 1")

    docker = top.sub("docker")
    docker.no_unknown({"dockerfile", "base_image_arg", "base_image"})
    dockerfile = docker.value("dockerfile", str, "Dockerfile")
    if not (folder / dockerfile).is_file():
        raise docker.fail("dockerfile", f"'{dockerfile}' is not a file in {folder}")
    local = top.sub("local")
    local.no_unknown({"toolchain", "build", "command", "deps", "deps_build"})
    toolchain = local.strings("toolchain", ())
    for index, tool in enumerate(toolchain):
        if tool not in TOOLCHAINS:
            raise local.fail(f"toolchain[{index}]", f"'{tool}' is not a toolchain labctl knows",
                             "Use " + ", ".join(TOOLCHAINS))
    build = local.argv_list("build") if "build" in local.table else ()
    command = local.strings("command")
    if not command:
        raise local.fail("command", "must not be empty")
    deps = local.strings("deps", ())
    deps_build = local.argv_list("deps_build") if "deps_build" in local.table else ()
    if bool(deps) != bool(deps_build):
        raise local.fail("deps" if deps_build else "deps_build",
                         "deps and deps_build go together: the files, and how to install them")
    for index, file_name in enumerate(deps):
        if Path(file_name).name != file_name or not (folder / file_name).is_file():
            raise local.fail(f"deps[{index}]", f"'{file_name}' is not a file in {folder}")
    if not deps and any("{deps}" in arg for step in (*build, command) for arg in step):
        raise local.fail("deps", "{deps} is used, and no deps are named")

    version_file = version_pattern = ""
    version_template = "{}"
    if "framework_version" in data:
        found = top.sub("framework_version")
        found.no_unknown({"file", "pattern", "template"})
        version_file = found.value("file", str)
        version_pattern = found.value("pattern", str)
        try:
            if re.compile(version_pattern).groups != 1:
                raise found.fail("pattern", "must have exactly one (group): the version")
        except re.error as exc:
            raise found.fail("pattern", f"not a regular expression: {exc}") from None
        version_template = found.value("template", str, "{}")

    return Server(
        name=name, language=top.value("language", str), framework=top.value("framework", str),
        aliases=tuple(a.lower() for a in top.strings("aliases", ())),
        greeting=top.value("greeting", str), source_file=show[0], show=show,
        base_image_arg=docker.value("base_image_arg", str),
        default_base_image=docker.value("base_image", str),
        concurrency_model=top.value("concurrency_model", str), processes=processes,
        first_build_seconds=first_build_seconds,
        blocking_unit=blocking_unit, toolchain=toolchain,
        source_override=None if _is_shipped(folder, name) else folder.resolve(),
        port=port, health_path=health_path, dockerfile=dockerfile, local_build=build,
        local_command=command, local_deps=deps, local_deps_build=deps_build,
        version_file=version_file, version_pattern=version_pattern,
        version_template=version_template)


def _is_shipped(folder: Path, name: str) -> bool:
    try:
        return folder.resolve() == (paths.servers_dir() / name).resolve()
    except OSError:
        return False


@cache
def shipped() -> tuple[Server, ...]:
    """The four servers under servers/, read once per process."""
    return tuple(load_folder(paths.servers_dir() / name) for name in SHIPPED)


def __getattr__(attribute: str) -> Any:
    # SERVERS and NAMES read the server.toml files on first use, not on import.
    if attribute == "SERVERS":
        return shipped()
    if attribute == "NAMES":
        return tuple(s.name for s in shipped())
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def looks_like_path(text: str) -> bool:
    """`labctl run ./my-server`: a path goes where a language name would."""
    return "/" in text or text.startswith(".") or text.startswith("~")


def get(name_or_alias: str) -> Server:
    """Find a server by name or alias, case-insensitively, or load the folder a path names;
    a clear error names the choices."""
    if looks_like_path(name_or_alias) and name_or_alias.lower() != "net/http":
        return load_folder(Path(name_or_alias).expanduser())
    wanted = name_or_alias.strip().lower()
    for server in shipped():
        if wanted == server.name or wanted in server.aliases:
            return server
    choices = ", ".join(f"{s.name} ({'/'.join(s.aliases[:2])})" for s in shipped())
    raise UsageProblem(f"unknown server '{name_or_alias}'",
                       f"Choose one of: {choices}, or give a folder with a server.toml")


def select(names: list[str] | None, sources: list[Path] | None = None) -> list[Server]:
    """The servers named on a command line, then the --source folders (all four when neither
    is given), without duplicates, in order. Two different folders may not share a name: it
    keys the results."""
    if not names and not sources:
        return list(shipped())
    chosen: list[Server] = []
    for server in [get(n) for n in names or []] + [load_folder(s) for s in sources or []]:
        if server in chosen:
            continue
        clash = next((c for c in chosen if c.name == server.name), None)
        if clash is not None:
            raise UsageProblem(f"two servers are named '{server.name}' ({clash.source_dir} and "
                               f"{server.source_dir})",
                               f"Give one of them another name in its {SERVER_TOML}")
        chosen.append(server)
    return chosen


def choose_one(name: str | None, source: Path | None) -> Server:
    """The one server of `run` or `load`: a name, a path, or --source DIR (not two of them)."""
    if name and source:
        raise UsageProblem(f"both a server ('{name}') and --source {source} were given",
                           "Give one of them")
    if source:
        return load_folder(source)
    if not name:
        raise UsageProblem("no server given",
                           "Name one (go, python, rust, node) or give --source DIR")
    return get(name)


def required_toolchains() -> dict[str, tuple[int, int]]:
    """The oldest toolchain versions the servers declare in their own files (go.mod's go line,
    Cargo.toml's rust-version, package.json's engines), so doctor never states a stale number."""
    found: dict[str, tuple[int, int]] = {"python3": (3, 10)}
    root = paths.servers_dir()
    try:
        match = re.search(r"^go\s+(\d+)\.(\d+)", (root / "go" / "go.mod").read_text(), re.MULTILINE)
        if match:
            found["go"] = (int(match.group(1)), int(match.group(2)))
        rust = tomllib.loads((root / "rust" / "Cargo.toml").read_text())["package"]
        major, minor = str(rust.get("rust-version", "1.0")).split(".")[:2]
        found["cargo"] = (int(major), int(minor))
        engines = json.loads((root / "node" / "package.json").read_text()).get("engines", {})
        match = re.search(r"(\d+)(?:\.(\d+))?", engines.get("node", ""))
        if match:
            found["node"] = (int(match.group(1)), int(match.group(2) or 0))
    except (OSError, KeyError, ValueError):
        pass
    return found
