"""Typer commands, grouped by what the learner is doing. Each module exposes ``register(app)``.

Every module here is imported, and every command's signature read by Typer, to print even
`labctl --help`; so a module imports what its commands need inside them, and a module that
defines commands does not use ``from __future__ import annotations``: Typer evaluates each
string annotation four times (some 10 ms for --help), so annotations stay objects and a name
imported only for type checking is written in quotes.
"""
