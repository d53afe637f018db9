"""Typer commands, grouped by what the learner is doing. Each module exposes ``register(app)``."""
