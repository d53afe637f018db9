"""The learning wing: lessons, the quiz and its schedule, progress, exercises and their checks.

``lessons`` (+ ``lesson_schema``, ``lesson_rules``) read and validate lesson files; ``quiz``
grades answers (``answer_units`` reads the quantities in them) and ``quiz_ui`` asks in a
terminal; ``progress`` and ``sittings`` keep a learner's state; ``exercises`` and
``exercise_checks`` make workspaces and measure them.
"""

# The share of a lesson's auto-graded items a sitting must get right (`labctl quiz --pass-mark`).
# Here, not in quiz.py, so the command line can show it without loading the quiz.
DEFAULT_PASS_MARK = 0.7
