"""Rich rendering of the learning documents: the lessons and their check, `labctl next`, an answers
file graded (`quiz --answers`), the exercises, their authors' check and a learner's check.

Takes the JSON-ready documents the commands produce, so the screen and ``--json`` always agree;
each renderer returns one renderable (render.RENDERERS). The interactive parts (the quiz session,
the menu, the prompts that ask) stay in learning/quiz_ui.py and learning/menu.py: they are not a
view of one document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from labctl.results.layout import Column, Fit

STATE_STYLE = {"new": "", "in progress": "warn", "done": "ok"}
EXERCISE_STYLE = {"passed": "ok", "started": "warn", "not started": "muted", "skipped": "muted"}
GRADE_STYLE = {"correct": "ok", "wrong": "fail", "missing": "warn", "invalid": "warn"}


def human_date(moment: datetime, now: datetime) -> str:
    """"today at 14:05", "tomorrow", "Tue 24 Nov", "Tue 24 Nov 2027": in the local time zone."""
    local, today = moment.astimezone(), now.astimezone()
    days = (local.date() - today.date()).days
    if days <= 0:
        return f"today at {local:%H:%M}" if days == 0 else f"{local:%a} {local.day} {local:%b}"
    if days == 1:
        return "tomorrow"
    if local.year != today.year:
        return f"{local:%a} {local.day} {local:%b %Y}"
    return f"{local:%a} {local.day} {local:%b}"


# -- labctl lessons -------------------------------------------------------------------------


def exercises_cell(states: Sequence[tuple[str, str]]) -> Text:
    """"1/2" (passed of all) for a lesson's exercises, "1/2 1 skip" when some were skipped, or a
    dash when it has none."""
    if not states:
        return Text("–")
    passed = sum(1 for _, state in states if state == "passed")
    skipped = sum(1 for _, state in states if state == "skipped")
    return Text(f"{passed}/{len(states)}" + (f" {skipped} skip" if skipped else ""),
                style="ok" if passed == len(states) else "")


def lessons_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """The lessons with their progress (``labctl.lessons/1``'s rows), readable at 80 columns: the
    number (what every command takes) in the first column, not the full id, so the title keeps
    the room. The exercises column appears once any lesson has some."""
    from rich import box

    # no vertical rules: at 80 columns every character goes to the title
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0),
                  title_justify="left")
    table.add_column("#", justify="right", style="label", no_wrap=True)
    table.add_column("lesson", ratio=1, min_width=20)
    table.add_column("progress", no_wrap=True)
    table.add_column("studied", justify="right", no_wrap=True)
    table.add_column("due", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    # Exercises passed of the lab's exercises.
    with_exercises = any(row["exercises"] for row in rows)
    if with_exercises:
        table.add_column("exercises", justify="right", no_wrap=True)
    for row in rows:
        cells: list[str | Text] = [
            row["id"].split("-", 1)[0],
            row["title"],
            Text(row["status"], style=STATE_STYLE[row["status"]]),
            f"{row['studied']}/{row['questions']}",
            str(row["due_now"]) if row["due_now"] else "–",
            f"{row['last_score']:.0%}" if row["last_score"] is not None else "–",
        ]
        if with_exercises:
            cells.append(exercises_cell([(e["name"], e["status"]) for e in row["exercises"]]))
        table.add_row(*cells)
    return table


def lessons(document: Mapping[str, Any]) -> Table:
    """``labctl.lessons/1``: the table. What to do next is the command's line on stderr."""
    return lessons_table(document["lessons"])


def _unwrapped(*parts: str | tuple[str, str]) -> Text:
    """A line never wrapped nor cut (print it with crop=False): a path or a field to copy."""
    text = Text.assemble(*parts)
    text.no_wrap, text.overflow = True, "ignore"
    return text


def lessons_check(document: Mapping[str, Any]) -> Group:
    """``labctl.lessons.check/1``: a line per lesson that passes, per fault and per warning. The
    faults and warnings are never wrapped: print with ``crop=False``. The count is the command's
    line on stderr."""
    lines: list[Text] = [Text.assemble(("ok    ", "ok"), f"{lesson['file']}  ({lesson['prompts']} "
                                       f"prompts, {lesson['items']} items)")
                         for lesson in document["lessons"] if lesson["ok"]]
    lines += [_unwrapped(("fault ", "fail"), fault["message"]) for fault in document["faults"]]
    lines += [_unwrapped(("warn  ", "warn"), warning["message"]) for warning in document["warnings"]]
    return Group(*lines)


# -- labctl next ----------------------------------------------------------------------------


def next_step(document: Mapping[str, Any], *, now: datetime | None = None) -> Group:
    """``labctl.next/1``: why, the commands, and when the next review is due, in words relative
    to ``now`` (the command passes labctl's clock, which LABCTL_NOW can set)."""
    from datetime import timezone

    lines: list[Text] = []
    skipped = document.get("skipped")
    if skipped:
        lines.append(Text(f"Skipped exercise {skipped}; labctl exercise start {skipped} takes it "
                          "up again.", style="muted"))
    lines.append(Text(document["why"]))
    lines += [Text.assemble("  ", (command, "cmd")) for command in document["commands"]]
    if document.get("next_review"):
        due = datetime.fromisoformat(document["next_review"])
        moment = now or datetime.now(timezone.utc)
        lines.append(Text(f"Next review due {human_date(due, moment)}.", style="muted"))
    return Group(*lines)


# -- labctl quiz --answers ------------------------------------------------------------------


def graded_table(document: Mapping[str, Any]) -> Group:
    """An answers file graded, at any width: why an answer could not be read is a numbered note
    under the table (one per distinct reason), not a cell that wraps over five lines."""
    notes: list[str] = []
    rows: list[list[str | Text]] = []
    for item in document["items"]:
        given = Text(item["understood_as"] or ("–" if item["given"] is None else str(item["given"])))
        message = item.get("message")
        if message:
            if message not in notes:
                notes.append(message)
            given.append(f" ({notes.index(message) + 1})", style="warn")
        rows.append([item["id"], Text(item["status"], style=GRADE_STYLE[item["status"]]), given,
                     "" if item["correct"] else item["expected"]])
    columns = [Column("item", key=True), Column("result"), Column("your answer"),
               Column("expected")]
    parts: list = [Fit(columns, rows, title=f"{document['lesson']}: answers graded")]
    parts += [Text(f"({number}) {note}", style="muted") for number, note in enumerate(notes, 1)]
    return Group(*parts)


def quiz_grade(document: Mapping[str, Any]) -> Group:
    """``labctl.quiz.grade/1``: the table, why for each answer not right, and the score. The ids
    not graded are the command's warnings on stderr."""
    parts: list = [graded_table(document)]
    missed = [item for item in document["items"] if not item["correct"]]
    if missed:
        # The explanation teaches the why: every mode shows it, not only --json.
        parts.append(Text(""))
        parts.append(Text("Why, for each one not right:", style="label"))
        parts += [Text.assemble((f"{item['id']}: ", "label"), item["explanation"]) for item in missed]
    correct, total = document["correct"], document["total"]
    score = correct / total if total else 0.0
    verdict = Text("passed", style="ok") if document["passed"] else Text("below the pass mark",
                                                                          style="fail")
    parts.append(Text.assemble(("Score: ", "label"), f"{correct}/{total} correct "
                               f"({score:.0%}); pass mark {document['pass_mark']:.0%}: ", verdict))
    return Group(*parts)


# -- labctl exercises, exercises check, exercise check --------------------------------------


def exercises(document: Mapping[str, Any]) -> Group:
    """``labctl.exercises/1``: every exercise with your status."""
    rows = document["exercises"]
    table = Table(title="Exercises", title_justify="left", header_style="label", show_edge=False,
                  pad_edge=False)   # no outer border: the check kinds fit 80 columns whole
    # The name is what every command takes: never cut. The lesson by its number, as `show` takes it.
    table.add_column("exercise", no_wrap=True, min_width=max((len(r["name"]) for r in rows), default=8))
    for column in ("server", "lesson", "check", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["base"], row["lesson"].split("-", 1)[0], row["check"],
                      Text(row["status"], style=EXERCISE_STYLE[row["status"]]))
    return Group(table, Text.assemble("Start one with ", ("labctl exercise start NAME", "cmd"),
                                      "; docs/exercises.md explains the checks."))


def author_line(name: str, side: str, outcome: Mapping[str, Any]) -> Text:
    """One side (starter or solution) of an exercise checked by its author: ok when the starter
    fails and the solution passes."""
    good = outcome["passed"] == (side == "solution")
    return Text.assemble((f"{'ok ' if good else 'BAD'} ", "ok" if good else "fail"),
                         f"{name} {side}: ", ("passes" if outcome["passed"] else "fails"),
                         f" — {outcome['measured']}")


def exercises_check(document: Mapping[str, Any]) -> Group:
    """``labctl.exercises-check/1``: with --run, a line per starter and solution checked (the
    command prints each as it comes); without, how many are valid."""
    if document["ran"]:
        return Group(*(author_line(entry["name"], side, entry[side])
                       for entry in document["exercises"] for side in ("starter", "solution")
                       if side in entry))
    count = len(document["exercises"])
    return Group(Text(f"{count} exercise{'s' if count != 1 else ''} valid (add --run to build them "
                      "and prove each starter fails and each solution passes)"))


def exercise_check(document: Mapping[str, Any]) -> Group:
    """``labctl.exercise-check/1``: what was expected, what was measured, pass or fail. The hint
    after a fail is the command's: it depends on the hints seen, not on the document."""
    check = document["check"]
    name = document["exercise"]
    lines = [Text.assemble((name, "label"), f" · {check['kind']} check · ",
                           f"{document['runtime']['runtime']} runtime, "
                           f"{document['limits']['cpus']:g} CPU"),
             Text.assemble(("  expected  ", "muted"), check["expected"]),
             Text.assemble(("  measured  ", "muted"), check["measured"])]
    if check["passed"]:
        lines.append(Text.assemble(("  PASS", "ok"), "  — see the reference fix with ",
                                   (f"labctl exercise solution {name}", "cmd")))
    else:
        lines.append(Text("  FAIL", style="fail"))
    return Group(*lines)
