"""Broken lesson files never give a traceback: the shipped lessons mutated a few hundred times
(with a fixed seed, so a failure reproduces) — bytes flipped, front-matter lines dropped, values
swapped for another type. Each mutant either still loads or fails with ``LessonError`` naming the
file, and, when a field was dropped or retyped, a field."""

from __future__ import annotations

import random
import re
import traceback
from pathlib import Path

from labctl import paths
from labctl.learning import lessons

SEED = 20261123
ROUNDS = 300
VALUE_LINE = re.compile(r"^(\s*[A-Za-z_][\w.-]*\s*=\s*)(.+)$")
OTHER_TYPES = ["5", "-1", "1.5", "true", '""', '"text"', "[]", "[1, 2]", "{}", '{ a = 1 }',
               "1979-05-27T07:32:00Z"]


def shipped() -> list[Path]:
    return lessons.lesson_files(paths.lessons_dir())


def front_matter_lines(text: str) -> list[int]:
    lines = text.splitlines()
    marks = [i for i, line in enumerate(lines) if line.strip() == "+++"]
    return [i for i in range(marks[0] + 1, marks[1]) if VALUE_LINE.match(lines[i])]


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["flip bytes", "drop field", "swap type"])
    if kind == "flip bytes":
        data = bytearray(text.encode("utf-8"))
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return kind, data.decode("utf-8", errors="surrogateescape")
    lines = text.splitlines()
    index = rng.choice(front_matter_lines(text))
    if kind == "drop field":
        del lines[index]
    else:
        match = VALUE_LINE.match(lines[index])
        assert match, lines[index]          # front_matter_lines only picks `key = value` lines
        prefix, _ = match.groups()
        lines[index] = prefix + rng.choice(OTHER_TYPES)
    return kind, "\n".join(lines) + "\n"


def test_mutated_lessons_fail_with_file_and_field_never_a_traceback(tmp_path):
    rng = random.Random(SEED)
    sources = shipped()
    failures, loaded, refused = [], 0, 0
    for round_ in range(ROUNDS):
        source = rng.choice(sources)
        kind, text = mutate(source.read_text(encoding="utf-8"), rng)
        target = tmp_path / source.name
        target.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        try:
            lessons.load_lesson(target)
            loaded += 1
        except lessons.LessonError as error:
            refused += 1
            if source.name not in error.message:
                failures.append(f"round {round_} ({kind}): the file is not named: {error.message}")
            elif kind != "flip bytes" and not error.where:
                failures.append(f"round {round_} ({kind}): no field named: {error.message}")
        except Exception:  # noqa: BLE001 - exactly what this test hunts for
            failures.append(f"round {round_} ({kind}) of {source.name}:\n{traceback.format_exc()}")
    assert not failures, f"{len(failures)} of {ROUNDS} mutants:\n" + "\n".join(failures[:5])
    assert refused > ROUNDS // 3     # the mutations really break things, most of the time
