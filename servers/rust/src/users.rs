//! The users table behind GET /users/{id}: an in-memory SQLite database.

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension};

/// A Connection may be used by one thread at a time, so it sits behind a
/// Mutex. A plain std Mutex, not tokio's, is right here: it is held only for
/// an in-memory query, microseconds, and never across an .await, so it
/// cannot stall the runtime.
pub type Db = Arc<Mutex<Connection>>;

/// Creates the database and seeds it.
pub fn open() -> rusqlite::Result<Db> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO users (id, name) VALUES
             (1, 'Grace'), (7, 'Linus'), (42, 'Ada'), (64, 'Ken'), (99, 'Barbara');",
    )?;
    Ok(Arc::new(Mutex::new(conn)))
}

/// Every user's (id, name), in id order.
pub fn all(db: &Db) -> rusqlite::Result<Vec<(i64, String)>> {
    let conn = db.lock().expect("users database lock");
    let mut query = conn.prepare_cached("SELECT id, name FROM users ORDER BY id")?;
    let rows = query.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// The user's (id, name), or None when there is no such id.
pub fn find(db: &Db, id: i64) -> rusqlite::Result<Option<(i64, String)>> {
    // The lock fails only if a thread panicked while holding it.
    let conn = db.lock().expect("users database lock");
    let mut query = conn.prepare_cached("SELECT id, name FROM users WHERE id = ?1")?;
    query.query_row([id], |row| Ok((row.get(0)?, row.get(1)?))).optional()
}
