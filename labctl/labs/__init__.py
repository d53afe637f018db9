"""The labs: one module per lab, each measuring one behaviour a lesson teaches.

A lab is a plug-in. Adding one means four things, and nothing scattered elsewhere:

1. **Its module here** (``labctl/labs/NAME.py``): a ``run_lab(runtime, chosen, *, limits,
   settings, on_phase, on_build_line)`` that starts and stops what it needs, prints nothing, and
   returns one JSON-ready document whose ``schema`` (``labctl.lab.NAME/1``) is declared in
   ``labctl.results.documents``; and at its end a ``PLUGIN = LabPlugin(...)`` saying how to run
   it and how a learner's predictions are asked for and scored.
2. **Its renderer** in the output layer (``labctl.results.lab_render``), registered by schema in
   ``labctl.results.render.RENDERERS``: one line.
3. **Its lesson** in ``lessons/``, whose ``[lab]`` names the command.
4. **Its command** in ``labctl.commands.lab_cmd``: the lab's own options, then one call to
   ``run_plugin`` (which selects the servers, prints the prediction sheet or checks a
   ``--predict`` file, prepares the runtime, runs, scores, saves and renders).

Every lab follows the same protocol: the same limits and CPU placement as the other measurements
(``--cpus``, ``--memory``), ``--json`` for its document, ``--sheet``/``--predict`` for the
learner's predictions, the lesson's own predictions stored in the document next to each
measurement, and nothing left running on any way out (``runtime.lifecycle.running``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from labctl.runtime.base import Limits, ProgressCallback, Runtime
    from labctl.servers import Server

class RunLab(Protocol):
    """How a lab runs: its module's ``run_lab``."""

    def __call__(self, runtime: Runtime, chosen: list[Server], *, limits: Limits, settings: Any,
                 on_phase: ProgressCallback | None = None,
                 on_build_line: ProgressCallback | None = None) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class LabPlugin:
    """What ``labctl lab NAME`` needs to know about one lab, beside its own options."""

    name: str                                   # the command: labctl lab NAME
    run: RunLab
    # A blank predictions file for these servers and settings (``--sheet``); None: the lab
    # asks for none.
    sheet: Callable[[list[Server], Any], str] | None = None
    # Scoring a learner's answer against one measured cell, and the cells of one server's
    # entry in the document (row → cell); row_keys maps a document row to the sheet's row name.
    judge: Callable[[str, dict], bool] | None = None
    cells_of: Callable[[dict], dict] | None = None
    row_keys: Callable[[], dict[str, str]] | None = None
