"""The users table behind GET /users/{id}: an in-memory SQLite database."""

import sqlite3

# Seeded when bottleneck.py imports it, at start-up: a broken database stops the
# server then, not on the first request. check_same_thread=False lets the
# event loop's thread use a connection made while importing; every query
# runs on that one thread, so two never overlap.
_db = sqlite3.connect(":memory:", check_same_thread=False)
_db.executescript("""
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    INSERT INTO users (id, name) VALUES
        (1, 'Grace'), (7, 'Linus'), (42, 'Ada'), (64, 'Ken'), (99, 'Barbara');
""")


def all_users() -> list[dict]:
    """Every user as {"id": ..., "name": ...}, in id order."""
    rows = _db.execute("SELECT id, name FROM users ORDER BY id").fetchall()
    return [{"id": id_, "name": name} for id_, name in rows]


def find(user_id: int) -> dict | None:
    """The user as {"id": ..., "name": ...}, or None when there is no such id."""
    # A blocking call inside async code, but against memory: it takes
    # microseconds, too short to hold up the event loop.
    row = _db.execute("SELECT id, name FROM users WHERE id = ?", (user_id,)).fetchone()
    return {"id": row[0], "name": row[1]} if row else None
