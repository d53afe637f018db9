"""The rules ``labctl lessons check`` holds lessons to, beyond their schema: a quiz that cannot be
passed by a strategy that ignores the questions, and items that teach.

Each rule looks at one lesson (or, for duplicates, all of them) and returns findings; a fault
fails the check (exit 2), a warning is printed and does not. The thresholds are the contract
between the quiz engine and lesson authors (lessons/FORMAT.md, "Rules").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from labctl.errors import LabctlError
from labctl.learning.lessons import LETTERS, Lesson

TRUE_SHARE = (0.35, 0.65)            # true/false answers that are true, per lesson
UNDERSTANDING_SHARE = 2 / 3          # items whose skill is predict, explain or apply
UNDERSTANDING = ("predict", "explain", "apply")
TRANSFER_SHARE = 1 / 3               # items that ask about a case the lesson never showed
MIN_LIVE_KEYWORDS = 2                # a key point is marked only when two of its keywords match
DUPLICATE_RATIO = 0.8                # word-sequence similarity at which two questions are "the same"
# "option b", "choice (a)": meaningless once choices are shuffled ("choice a" alone is English).
_LETTER_REFERENCE = re.compile(r"\b(?:choices?|options?)\s+(?:\([a-h]\)|[b-h]\b)", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    file: str
    where: str
    message: str
    severity: str                    # fault | warning

    def one_line(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


def _fault(lesson: Lesson, where: str, message: str) -> Finding:
    return Finding(lesson.display_path, where, message, "fault")


def _warning(lesson: Lesson, where: str, message: str) -> Finding:
    return Finding(lesson.display_path, where, message, "warning")


def answer_positions(lesson: Lesson) -> list[Finding]:
    """The correct choices must not sit in one file position in more than half the choice items:
    a learner who always picks "a" must not pass (choices are shuffled too, but answers files and
    `labctl show --items` use file order)."""
    choice_items = [item for item in lesson.items if item.kind == "choice"]
    if not choice_items:
        return []
    position, count = Counter(item.answer for item in choice_items).most_common(1)[0]
    if count * 2 > len(choice_items):
        return [_fault(lesson, "items", f"the correct answer is choice {LETTERS[position]} in {count} of "
                       f"{len(choice_items)} choice items (more than half); spread them over a, b, c, d")]
    return []


def longest_choice(lesson: Lesson) -> list[Finding]:
    """The correct choice must not be the strictly longest in more than half the choice items."""
    choice_items = [item for item in lesson.items if item.kind == "choice"]
    longest = [item.id for item in choice_items
               if all(len(item.choices[item.answer]) > len(choice)
                      for index, choice in enumerate(item.choices) if index != item.answer)]
    if len(longest) * 2 > len(choice_items):
        return [_fault(lesson, "items", f"the correct choice is the longest in {len(longest)} of "
                       f"{len(choice_items)} choice items (more than half: {', '.join(longest)}); write "
                       "distractors as long and as specific as the answer")]
    return []


def shortest_choice(lesson: Lesson) -> list[Finding]:
    """The correct choice must not be the strictly shortest in more than half the choice items
    either: "pick the plainest one" is a strategy too."""
    choice_items = [item for item in lesson.items if item.kind == "choice"]
    shortest = [item.id for item in choice_items
                if all(len(item.choices[item.answer]) < len(choice)
                       for index, choice in enumerate(item.choices) if index != item.answer)]
    if len(shortest) * 2 > len(choice_items):
        return [_fault(lesson, "items", f"the correct choice is the shortest in {len(shortest)} of "
                       f"{len(choice_items)} choice items (more than half: {', '.join(shortest)}); give "
                       "the answer the detail a distractor has, or trim the distractors")]
    return []


def transfer_items(lesson: Lesson) -> list[Finding]:
    """At least a third of the items ask about a case the lesson never showed (``transfer``):
    recalling the lab's table must not be enough to pass."""
    transfer = sum(item.transfer for item in lesson.items)
    if transfer < TRANSFER_SHARE * len(lesson.items) - 1e-9:
        return [_fault(lesson, "items", f"only {transfer} of {len(lesson.items)} items are transfer items "
                       "(transfer = true: a new number, setting, stack or output the lesson never "
                       "showed); at least a third must be")]
    return []


def lesson_versions(lesson: Lesson) -> list[Finding]:
    """The lesson names the versions its facts hold for, and each agrees with the servers' pins
    (servers/*/go.mod, Dockerfile base images, requirements.txt, Cargo.lock, package-lock.json)."""
    from labctl.runtime import pins

    if not lesson.versions:
        return [_fault(lesson, "versions", "missing: name the versions the lesson's facts and figures "
                       "hold for, e.g. versions = { go = \"1.26\", node = \"22\" } (lessons/FORMAT.md)")]
    pinned = pins.pinned_versions()
    findings = []
    for name, version in lesson.versions:
        if name in pinned:
            if not pins.agrees(version, pinned[name]):
                findings.append(_fault(lesson, f"versions.{name}", f"'{version}' differs from the servers' "
                                       f"pin {pinned[name]}; check the facts against {pinned[name]} and "
                                       "state that version"))
        elif name not in pins.UNPINNED:
            known = sorted({*pinned, *pins.UNPINNED})
            findings.append(_fault(lesson, f"versions.{name}", "not a component the servers pin or labctl "
                                   "knows: " + ", ".join(known)))
    return findings


def true_false_balance(lesson: Lesson) -> list[Finding]:
    answers = [item.answer for item in lesson.items if item.kind == "true_false"]
    if not answers:
        return []
    share = sum(answers) / len(answers)
    low, high = TRUE_SHARE
    if not low <= share <= high:
        return [_fault(lesson, "items", f"{sum(answers)} of {len(answers)} true/false answers are true "
                       f"({share:.0%}); keep between {low:.0%} and {high:.0%} true")]
    return []


def understanding(lesson: Lesson) -> list[Finding]:
    deep = sum(item.skill in UNDERSTANDING for item in lesson.items)
    if deep < UNDERSTANDING_SHARE * len(lesson.items) - 1e-9:
        return [_fault(lesson, "items", f"only {deep} of {len(lesson.items)} items ask to predict, explain "
                       "or apply (skill); at least two-thirds must")]
    return []


def sources(lesson: Lesson) -> list[Finding]:
    missing = [item.id for item in lesson.items if not item.source]
    if missing:
        return [_fault(lesson, "items", f"{len(missing)} of {len(lesson.items)} items have no source "
                       f"({', '.join(missing)}); say where each fact can be checked: a Go doc or source "
                       "file, an RFC section, a framework doc page, or a labctl command")]
    return []


def letter_references(lesson: Lesson) -> list[Finding]:
    """Choices are shuffled in every sitting, so "option b" means nothing to the learner."""
    findings = []
    for index, item in enumerate(lesson.items):
        for where, text in [("question", item.question), ("explanation", item.explanation),
                            ("hint", item.hint),
                            *((f"choices[{n}]", choice) for n, choice in enumerate(item.choices))]:
            if _LETTER_REFERENCE.search(text):
                findings.append(_fault(lesson, f"items[{index}].{where}", "refers to a choice by its "
                                       "letter, but choices are shuffled in every sitting; name it by its content"))
    return findings


def prompt_keywords(lesson: Lesson) -> list[Finding]:
    """A keyword found in the prompt's own text never counts (pasting the prompt back must touch
    nothing), so such a keyword is dead weight; a key point left with none can never be touched."""
    from labctl.learning.quiz import stems

    findings = []
    for number, prompt in enumerate(lesson.prompts):
        own = set(stems(prompt.text))
        for point_no, point in enumerate(prompt.key_points):
            dead = [keyword for keyword in point.keywords if set(stems(keyword)) <= own]
            where = f"prompts[{number}].key_points[{point_no}].keywords"
            live = len(point.keywords) - len(dead)
            if live == 0:
                findings.append(_fault(lesson, where, "every keyword is in the prompt's own text, so the "
                                       "point can never be marked; add words a good answer would use"))
            elif live < MIN_LIVE_KEYWORDS:
                findings.append(_fault(lesson, where, f"only {live} keyword outside the prompt's own text; a "
                                       f"point is marked when {MIN_LIVE_KEYWORDS} match, so give it more"))
            if dead and live:
                findings.append(_warning(lesson, where, "in the prompt's own text, so never counted: "
                                         + ", ".join(repr(k) for k in dead)))
    return findings


def hints_that_answer(lesson: Lesson) -> list[Finding]:
    """A hint is a nudge toward the reasoning; one that holds the answer (the right choice's text,
    or the number itself) gives the item away: a warning."""
    from labctl.learning.answer_units import format_value

    findings = []
    for index, item in enumerate(lesson.items):
        if not item.hint:
            continue
        hint = " ".join(_words(item.hint))
        if item.kind == "choice":
            given_away = " ".join(_words(item.choices[item.answer])) in hint
        elif item.kind == "numeric":
            given_away = re.search(rf"(?<![\d.]){re.escape(format_value(item.answer))}(?![\d.])", item.hint) is not None
        else:
            given_away = False
        if given_away:
            findings.append(_warning(lesson, f"items[{index}].hint", "contains the answer; nudge toward the "
                                     "reasoning instead"))
    return findings


def named_exercises(lesson: Lesson) -> list[Finding]:
    """Every exercise a lesson's lab names exists in exercises/ and says it belongs to this lesson."""
    from labctl.learning import exercises

    findings = []
    for index, name in enumerate(lesson.lab.exercises if lesson.lab else ()):
        folder = exercises.exercises_dir() / name
        if not (folder / exercises.EXERCISE_FILE).is_file():
            findings.append(_fault(lesson, f"lab.exercises[{index}]", f"no exercise '{name}' in "
                                   f"{exercises.display(exercises.exercises_dir())}"))
            continue
        try:
            owner = exercises.load(folder).spec.lesson
        except LabctlError as error:
            findings.append(_fault(lesson, f"lab.exercises[{index}]", f"'{name}' does not load: "
                                   f"{error.message}"))
            continue
        if owner != lesson.id:
            findings.append(_fault(lesson, f"lab.exercises[{index}]",
                                   f"'{name}' belongs to lesson {owner} (its exercise.toml says so)"))
    return findings


LESSON_RULES: list[Callable[[Lesson], list[Finding]]] = [
    answer_positions, longest_choice, shortest_choice, true_false_balance, understanding,
    transfer_items, lesson_versions, sources, letter_references, prompt_keywords, hints_that_answer,
    named_exercises,
]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def duplicates(lessons: list[Lesson]) -> list[Finding]:
    """A question that appears almost word for word in another lesson: a warning on the later one."""
    from difflib import SequenceMatcher

    findings = []
    asked = [(lesson, index, _words(item.question)) for lesson in lessons
             for index, item in enumerate(lesson.items)]
    for position, (lesson, index, words) in enumerate(asked):
        for other, other_index, other_words in asked[:position]:
            if other.id == lesson.id:
                continue
            matcher = SequenceMatcher(None, words, other_words, autojunk=False)
            if matcher.real_quick_ratio() >= DUPLICATE_RATIO and matcher.ratio() >= DUPLICATE_RATIO:
                findings.append(_warning(lesson, f"items[{index}].question", "almost the same question as "
                                         f"{other.id} items[{other_index}] ({other.items[other_index].id}); "
                                         "keep it in one lesson"))
                break
    return findings


def check(lessons: list[Lesson]) -> list[Finding]:
    """Every finding for these lessons: each lesson's rules, then duplicates across them."""
    findings = [finding for lesson in lessons for rule in LESSON_RULES for finding in rule(lesson)]
    return findings + duplicates(lessons)
