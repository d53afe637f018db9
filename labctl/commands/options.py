"""The options and arguments several commands share, declared once as ``Annotated`` types.

This module is imported by every command module when ``labctl --help`` runs, so it imports
nothing but Typer and labctl's error types: no runtime, no loadgen.

``--runtime`` and ``--generator`` take one of a fixed set of names. They are parsed into Enums
here (help shows the choices) by a parser that raises ``UsageProblem``, so a wrong name is the
same one-line error, exit status 2, as every other bad input, not Click's boxed message.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from labctl.config import CLIENT_CONTEXT_VARIABLE
from labctl.errors import UsageProblem

SERVER_HELP = "go | python | rust | node (also nethttp, fastapi, axum, express)"
SERVERS_HELP = ("Servers to include (default: all four): go, python, rust, node, their aliases, "
                "or folders with a server.toml.")


class RuntimeChoice(str, Enum):
    """Where servers run (``labctl.runtime.CHOICES``)."""

    auto = "auto"
    docker = "docker"
    local = "local"


class GeneratorChoice(str, Enum):
    """Which load generator sends the load (``labctl.measure.loadgen.GENERATORS``)."""

    auto = "auto"
    container = "container"
    host = "host"
    builtin = "builtin"


def _choice_parser(enum: type[Enum], noun: str):
    def parse(value: str | Enum) -> Enum:
        if isinstance(value, enum):
            return value
        try:
            return enum(str(value).strip().lower())
        except ValueError:
            raise UsageProblem(f"unknown {noun} '{value}'",
                               "Use one of: " + ", ".join(c.value for c in enum)) from None
    return parse


def _metavar(enum: type[Enum]) -> str:
    return "[" + "|".join(c.value for c in enum) + "]"


RUNTIME_HELP = ("Where servers run: docker, local (native processes) or auto (Docker when an "
                "engine answers). Default: LABCTL_RUNTIME, else the config file's runtime, "
                "else auto.")
GENERATOR_HELP = ("auto: wrk in a container on the Docker runtime, a host wrk on the local "
                  "runtime; builtin is labctl's Python client (the bottleneck above a few "
                  "thousand req/s).")

# None (not given) lets ``runtime.select`` read LABCTL_RUNTIME, then fall back to auto.
RuntimeOption = Annotated[Optional[RuntimeChoice], typer.Option(
    "--runtime", "-r", parser=_choice_parser(RuntimeChoice, "runtime"),
    metavar=_metavar(RuntimeChoice), help=RUNTIME_HELP, show_default=False)]
GeneratorOption = Annotated[GeneratorChoice, typer.Option(
    "--generator", "-g", parser=_choice_parser(GeneratorChoice, "generator"),
    metavar=_metavar(GeneratorChoice), help=GENERATOR_HELP)]
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print one JSON document on stdout and nothing else.")]
CpusOption = Annotated[float, typer.Option(
    "--cpus", min=0.1, help="CPU cores each server may use.")]
MemoryOption = Annotated[int, typer.Option(
    "--memory", min=64, help="Memory limit of each server, in MB.")]
RebuildOption = Annotated[bool, typer.Option(
    "--rebuild", help="Build even if an up-to-date build exists.")]
# run, compare, load and verify: the probe and the load generator on another engine.
ClientContextOption = Annotated[Optional[str], typer.Option(
    "--client-context", metavar="NAME", envvar=CLIENT_CONTEXT_VARIABLE, show_envvar=True,
    help="Run the probe and load generator on this Docker context's engine (another "
         "machine). Servers then publish on their host's address (LABCTL_SERVER_ADDRESS "
         "overrides); figures include the network in between.")]
ServerArgument = Annotated[str, typer.Argument(help=SERVER_HELP, show_default=False)]
# run and load: a name, a folder path (./my-server), or none when --source names the folder.
OptionalServerArgument = Annotated[Optional[str], typer.Argument(
    help=SERVER_HELP + ", or a folder with a server.toml", show_default=False)]
SourceOption = Annotated[Optional[Path], typer.Option(
    "--source", file_okay=False, help="A server folder with a server.toml and a Dockerfile "
    "(docs/server-toml.md) to build and measure instead of a named server.")]
SourcesOption = Annotated[Optional[list[Path]], typer.Option(
    "--source", file_okay=False, help="A server folder with a server.toml and a Dockerfile "
    "(docs/server-toml.md), added to the servers named; repeat for more.")]
ServersArgument = Annotated[Optional[list[str]], typer.Argument(help=SERVERS_HELP,
                                                                show_default=False)]

