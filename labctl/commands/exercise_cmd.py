"""`labctl exercises` (list them, and check them as an author) and `labctl exercise` (start one,
check your copy, get a hint, see the solution, reset it)."""

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from labctl import ui
from labctl.commands.group import command_group
from labctl.commands.options import CpusOption, JsonOption, MemoryOption, RuntimeOption
from labctl.errors import LabctlError, UsageProblem

if TYPE_CHECKING:
    from labctl.learning.exercises import Exercise
    from labctl.learning.progress import Progress
    from labctl.results.documents import (
        AuthoredExercise,
        CheckOutcome,
        ExerciseCheckDocument,
        ExerciseRow,
        ExercisesCheckDocument,
        ExercisesDocument,
    )

exercises_app = command_group(help="List the exercises with your status; check them (authors).",
                              no_args_is_help=False)
exercise_app = command_group(
    help="Change a server until it behaves: start, check, hint, solution, reset.",
    no_args_is_help=True)

NameArgument = Annotated[Optional[str], typer.Argument(
    help="The exercise (default: the one whose workspace you are in).", show_default=False)]
WATCH_DEBOUNCE_MS = 600


def register(app: typer.Typer) -> None:
    app.add_typer(exercises_app, name="exercises")
    app.add_typer(exercise_app, name="exercise")


# --- shared steps -----------------------------------------------------------------------------

def _progress() -> "Progress":
    from labctl.commands.learn import load_progress

    return load_progress()


def _resolve(name: str | None, progress: "Progress") -> "tuple[Exercise, Path]":
    """The exercise a command is about, and its workspace: NAME, or the workspace around the
    current folder."""
    from labctl.learning import exercises

    here = exercises.workspace_of(Path.cwd())
    if name is None:
        if here is None:
            raise UsageProblem("this folder is not an exercise workspace",
                               "Name the exercise (labctl exercises lists them), or cd into the "
                               "folder `labctl exercise start` made")
        name = here[0]
    exercise = exercises.find(name)
    if here is not None and here[0] == exercise.name:
        return exercise, here[1]
    recorded = progress.exercise_record(exercise.name).get("workspace")
    workspace = Path(recorded) if recorded else exercises.default_workspace(exercise.name)
    return exercise, workspace


def _require_workspace(exercise: "Exercise", workspace: Path) -> None:
    from labctl.learning import exercises

    if not (workspace / exercises.WORKSPACE_MARK).is_file():
        raise UsageProblem(f"no workspace for {exercise.name} at {exercises.display(workspace)}",
                           f"Start it first: labctl exercise start {exercise.name}")


# --- labctl exercises ---------------------------------------------------------------------------

@exercises_app.callback(invoke_without_command=True)
def exercises_list(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Every exercise: its language, lesson, what it checks, and your status."""
    if ctx.invoked_subcommand is not None:
        return
    from labctl.learning import exercises

    found, faults = exercises.load_all()
    for fault in faults:
        ui.warn(f"skipped a broken exercise: {fault.one_line()}")
    progress = _progress()
    document: ExercisesDocument = {"schema": "labctl.exercises/1",
                                   "exercises": [_row(exercise, progress) for exercise in found]}
    if json_out:
        ui.print_json_document(document)
        return
    from labctl.results import learning_render  # not at the top: `labctl --help` draws no tables

    ui.out().print(learning_render.exercises(document))


def _row(exercise: "Exercise", progress: "Progress") -> "ExerciseRow":
    return {"name": exercise.name, "title": exercise.title, "base": exercise.spec.base,
            "lesson": exercise.spec.lesson, "check": str(exercise.check.__struct_config__.tag),
            "status": progress.exercise_state(exercise.name),
            "workspace": progress.exercise_record(exercise.name).get("workspace")}


@exercises_app.command("check")
def exercises_check(
    names: Annotated[Optional[list[str]], typer.Argument(
        help="Exercises to check (default: all).", show_default=False)] = None,
    run_them: Annotated[bool, typer.Option(
        "--run", help="Also build each starter and solution and prove the check fails on the "
                      "starter and passes on the solution.")] = False,
    runtime_name: RuntimeOption = None,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
) -> None:
    """For authors: validate every exercise.toml; with --run, test each check.

    With --run, each exercise's check runs on a real runtime against the starter (which must
    fail) and the reference solution (which must pass)."""
    from rich.text import Text

    from labctl.commands.common import default_limits, prepare_runtime
    from labctl.learning import exercises

    default_limits(cpus, memory)   # a bad --cpus is refused even without --run
    found, faults = exercises.load_all()
    if names:
        wanted = {exercises.find(name).name for name in names}
        found = [e for e in found if e.name in wanted]
        faults = []
    for exercise in found:
        unlisted = exercises.listed_by_lesson(exercise)
        if unlisted:
            faults.append(UsageProblem(f"{exercises.display(exercise.folder / exercises.EXERCISE_FILE)}: "
                                       f"lesson: {unlisted}"))
        drifted = exercises.starter_drift(exercise)
        if drifted:
            faults.append(UsageProblem(f"{exercises.display(exercise.starter_dir)}: {drifted}"))
    if len(faults) == 1:
        raise faults[0]
    if faults:
        for fault in faults:
            ui.out().print(Text.assemble(("fault ", "fail"), fault.one_line()), soft_wrap=True)
        raise UsageProblem(f"{len(faults)} faults in the exercises", "See the lines above")
    from labctl.results import learning_render

    report: list[AuthoredExercise] = []
    if run_them:
        runtime = prepare_runtime(runtime_name)
        limits = default_limits(cpus, memory)
        for exercise in found:
            outcomes: dict[str, CheckOutcome] = {}
            for side, outcome in _author_outcomes(exercise, runtime, limits):
                outcomes[side] = outcome.as_dict()
                if not json_out:
                    # Each line as its check ends (a check takes minutes): the lines the renderer
                    # draws for the whole document, so it is not printed again below.
                    ui.out().print(learning_render.author_line(exercise.name, side, outcomes[side]))
            report.append({"name": exercise.name, "starter": outcomes["starter"],
                           "solution": outcomes["solution"],
                           "ok": not outcomes["starter"]["passed"] and outcomes["solution"]["passed"]})
    else:
        report = [{"name": e.name, "ok": True} for e in found]
    bad = [entry["name"] for entry in report if not entry["ok"]]
    document: ExercisesCheckDocument = {"schema": "labctl.exercises-check/1", "ran": run_them,
                                        "exercises": report, "ok": not bad}
    if json_out:
        ui.print_json_document(document)
    elif not run_them:
        ui.out().print(learning_render.exercises_check(document))
    if bad:
        raise LabctlError(f"{len(bad)} exercise(s) do not tell the starter from the solution: "
                          + ", ".join(bad), "See the lines above: tune the thresholds or the starter")


def _author_outcomes(exercise: "Exercise", runtime, limits):
    """("starter", its outcome), then ("solution", its outcome): the check a learner gets, run
    on each. A speedup check runs both in one series that shares the starter's reference
    turns (exercise_checks.speedup_starter_and_solution)."""
    from labctl import servers
    from labctl.commands.common import build_status
    from labctl.learning import exercise_checks, exercises
    from labctl.learning.exercises import SpeedupCheck

    if not isinstance(exercise.check, SpeedupCheck):
        for side in ("starter", "solution"):
            folder = exercises.scratch_copy(exercise, side)
            yield side, _check_folder(exercise, folder, runtime, limits, f"{exercise.name}: {side}")
        return
    starter = servers.load_folder(exercises.scratch_copy(exercise, "starter"))
    solution = servers.load_folder(exercises.scratch_copy(exercise, "solution"))
    with build_status(f"building {exercise.name}: starter and solution") as (on_line, on_phase):
        generator = exercise_checks.prepare(runtime, starter, exercise.check, on_line)
        runtime.prepare(solution, on_line)
        on_phase(f"checking {exercise.name}: the starter and the solution against it, in turns")
        starter_outcome, solution_outcome = exercise_checks.speedup_starter_and_solution(
            runtime, starter, solution, exercise.check, limits, generator)
    yield "starter", starter_outcome
    yield "solution", solution_outcome


def _check_folder(exercise: "Exercise", folder: Path, runtime, limits, title: str):
    from labctl import servers
    from labctl.commands.common import build_status
    from labctl.learning import exercise_checks, exercises
    from labctl.learning.exercises import SpeedupCheck

    server = servers.load_folder(folder)
    with build_status(f"building {title}") as (on_line, on_phase):
        generator = exercise_checks.prepare(runtime, server, exercise.check, on_line)
        starter = None
        if isinstance(exercise.check, SpeedupCheck):   # measured against the starter
            on_phase(f"building the starter of {exercise.name}, to compare with")
            starter = servers.load_folder(exercises.scratch_copy(exercise, "starter"))
            runtime.prepare(starter, on_line)
        on_phase(f"checking {title}: {exercise.check.__struct_config__.tag}")
        return exercise_checks.run(runtime, server, exercise.check, limits, generator, starter)


# --- labctl exercise ----------------------------------------------------------------------------

@exercise_app.command("start")
def start(
    name: Annotated[str, typer.Argument(help="The exercise (see labctl exercises).")],
    directory: Annotated[Optional[Path], typer.Option(
        "--dir", file_okay=False, help="Where to put your copy (default: ./labctl-exercises/NAME).",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a folder that is not empty.")] = False,
) -> None:
    """Copy the exercise's starter server into a folder of your own, and say what to do."""
    import shutil

    from rich.text import Text

    from labctl.learning import exercises

    exercise = exercises.find(name)
    workspace = (directory or exercises.default_workspace(exercise.name)).resolve()
    if workspace.exists() and not workspace.is_dir():
        raise UsageProblem(f"{exercises.display(workspace)} is a file, not a folder",
                           "Give --dir a folder that does not exist yet, or an empty one")
    if workspace.exists() and any(workspace.iterdir()):
        if not force:
            raise UsageProblem(f"{exercises.display(workspace)} exists and is not empty",
                               "Choose another --dir, or add --force to replace it")
        if not (workspace / exercises.WORKSPACE_MARK).is_file():
            raise UsageProblem(f"{exercises.display(workspace)} is not an exercise workspace; "
                               "labctl will not delete it", "Choose another --dir")
        shutil.rmtree(workspace)
    exercises.materialise(exercise, workspace)
    _progress().update_exercise(exercise.name, started=True, workspace=str(workspace),
                                hints_seen=0)
    out = ui.out()
    out.print(Text(f"{exercise.name}: {exercise.title}", style="label"))
    out.print(exercises.reflow(exercise.spec.task), markup=False, highlight=False)
    out.print()
    out.print(Text.assemble("Your copy: ", (exercises.display(workspace), "cmd"),
                            "   edit: ", ", ".join(exercise.spec.files)))
    out.print(Text.assemble("Then: ", (f"cd {exercises.display(workspace)} && labctl exercise check",
                                       "cmd"), " (add --watch to re-check on every save)"))


@exercise_app.command("check")
def check(
    name: NameArgument = None,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Check again on every save, until Ctrl-C.")] = False,
    runtime_name: RuntimeOption = None,
    cpus: CpusOption = 1.0,
    memory: MemoryOption = 512,
    json_out: JsonOption = False,
) -> None:
    """Build your copy, run the exercise's behavioural check, and say pass or fail."""
    from labctl.commands.common import default_limits, prepare_runtime

    progress = _progress()
    exercise, workspace = _resolve(name, progress)
    _require_workspace(exercise, workspace)
    if watch and json_out:
        raise UsageProblem("--watch and --json do not go together",
                           "Use --json for one check, --watch to keep checking")
    runtime = prepare_runtime(runtime_name)
    limits = default_limits(cpus, memory)
    if not watch:
        passed = _check_once(exercise, workspace, runtime, limits, json_out=json_out)
        if not passed:
            raise typer.Exit(1)
        return
    _watch(exercise, workspace, runtime, limits)


def _check_once(exercise: "Exercise", workspace: Path, runtime, limits, *, json_out: bool) -> bool:
    from rich.text import Text

    from labctl.learning.exercises import reflow

    try:
        outcome = _check_folder(exercise, workspace, runtime, limits, exercise.name)
    except LabctlError:
        _progress().update_exercise(exercise.name, last_check={
            "passed": False, "runtime": runtime.name, "measured": "build failed"})
        raise
    progress = _progress()
    record = progress.update_exercise(
        exercise.name, passed=outcome.passed,
        last_check={"passed": outcome.passed, "runtime": runtime.name,
                    "measured": outcome.measured})
    # runtime.describe() asks the engine, and may start a container to read the server's runtime
    # version: only --json pays for it. The view needs the runtime's name alone.
    document: ExerciseCheckDocument = {
        "schema": "labctl.exercise-check/1", "exercise": exercise.name, "workspace": str(workspace),
        "runtime": runtime.describe() if json_out else {"runtime": runtime.name},
        "limits": limits.as_dict(), "check": outcome.as_dict(),
        "passed_before": bool(record.get("passed_at"))}
    if json_out:
        ui.print_json_document(document)
        return outcome.passed
    from labctl.results import learning_render

    out = ui.out()
    out.print(learning_render.exercise_check(document))
    if outcome.passed:
        return True
    # After a fail, a hint: which one depends on the hints already seen (the progress file), and
    # showing the first counts as seen. Not a view of the document: it stays here.
    seen = int(progress.exercise_record(exercise.name).get("hints_seen", 0) or 0)
    if exercise.hints:
        hint_index = min(seen, len(exercise.hints) - 1)
        if seen == 0:
            progress.update_exercise(exercise.name, hints_seen=1)
        out.print(Text.assemble(("  hint ", "muted"), f"{hint_index + 1}/{len(exercise.hints)}: ",
                                reflow(exercise.hints[hint_index])))
        if seen:
            out.print(Text.assemble("  more: ", (f"labctl exercise hint {exercise.name}", "cmd")))
    return False


def _watch(exercise: "Exercise", workspace: Path, runtime, limits) -> None:
    """Check, then wait for a save and check again; a failed build is shown and waited out."""
    import watchfiles
    from rich.text import Text

    from labctl.learning import exercises

    def relevant(change: watchfiles.Change, path: str) -> bool:
        parts = Path(path).relative_to(workspace).parts
        return not any(part in exercises.NOT_COPIED or part.startswith(".") for part in parts)

    err = ui.err()
    while True:
        try:
            _check_once(exercise, workspace, runtime, limits, json_out=False)
        except LabctlError as error:
            ui.error_line(error.one_line())
            if error.details:
                err.print(error.details, markup=False, highlight=False)
        err.print(Text(f"watching {exercises.display(workspace)} for changes (Ctrl-C to stop)",
                       style="muted"))
        for _changes in watchfiles.watch(workspace, watch_filter=relevant,
                                         debounce=WATCH_DEBOUNCE_MS, raise_interrupt=True):
            break
        time.sleep(0.05)


@exercise_app.command("hint")
def hint(name: NameArgument = None) -> None:
    """Show the next hint (the first one again after the last)."""
    from rich.text import Text

    from labctl.learning.exercises import reflow

    progress = _progress()
    exercise, _workspace = _resolve(name, progress)
    seen = int(progress.exercise_record(exercise.name).get("hints_seen", 0) or 0)
    index = seen % len(exercise.hints)
    progress.update_exercise(exercise.name, hints_seen=seen + 1)
    ui.out().print(Text.assemble((f"hint {index + 1}/{len(exercise.hints)}", "label"), "  ",
                                 reflow(exercise.hints[index])))


@exercise_app.command("solution")
def solution(
    name: NameArgument = None,
    force: Annotated[bool, typer.Option("--force", help="Show it before you have passed.")] = False,
) -> None:
    """The reference solution as a diff against the starter: after a pass, or with --force."""
    from rich.syntax import Syntax

    from labctl.learning import exercises

    progress = _progress()
    exercise, _workspace = _resolve(name, progress)
    if progress.exercise_state(exercise.name) != "passed" and not force:
        raise UsageProblem(f"you have not passed {exercise.name} yet",
                           "Try `labctl exercise hint` first; add --force to see the solution anyway")
    # word_wrap: a long line of code is wrapped, never cropped at the terminal's edge.
    ui.out().print(Syntax(exercises.solution_diff(exercise), "diff", theme="ansi_dark",
                          background_color="default", word_wrap=True))


@exercise_app.command("reset")
def reset(
    name: NameArgument = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Put the starter's files back in your copy (after asking)."""
    from labctl.learning import exercises

    progress = _progress()
    exercise, workspace = _resolve(name, progress)
    _require_workspace(exercise, workspace)
    if not yes:
        if not typer.confirm(f"Put the starter's {', '.join(exercise.spec.files)} back in "
                             f"{exercises.display(workspace)}, losing your changes?", default=False,
                             err=True):
            ui.info("nothing changed")
            raise typer.Exit(1)
    restored = exercises.restore_starter(exercise, workspace)
    progress.update_exercise(exercise.name, hints_seen=0)
    ui.out().print(f"restored {len(restored)} file(s)" + (": " + ", ".join(restored) if restored else
                                                          " (they were already the starter's)"))
