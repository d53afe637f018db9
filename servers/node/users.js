// The users table behind GET /users/{id} and GET /report: an in-memory
// SQLite database.
'use strict';

// sql.js is SQLite compiled to WebAssembly: no native module to compile,
// so it installs the same on every platform (Node 20 has no built-in SQLite).
const initSqlJs = require('sql.js');

// Creates the database and seeds it. Async, because sql.js compiles its
// WebAssembly first.
async function openDatabase() {
  const SQL = await initSqlJs();
  const db = new SQL.Database(); // no file: in memory
  db.exec(`
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
    INSERT INTO users (id, name) VALUES
      (1, 'Grace'), (7, 'Linus'), (42, 'Ada'), (64, 'Ken'), (99, 'Barbara');
  `);
  return db;
}

// Opens the database and returns the lookup function.
async function openUsers() {
  const query = (await openDatabase()).prepare('SELECT id, name FROM users WHERE id = ?');

  // The user as { id, name }, or null when there is no such id. The id is a
  // BigInt, since a JS number is exact only up to 2^53; sql.js binds it exactly.
  return function findUser(id) {
    try {
      query.bind([id]);
      return query.step() ? query.getAsObject() : null;
    } finally {
      query.reset(); // ready for the next lookup
    }
  };
}

// Opens the database and returns a function that lists every user as
// { id, name }, in id order.
async function openAllUsers() {
  const query = (await openDatabase()).prepare('SELECT id, name FROM users ORDER BY id');
  return function allUsers() {
    const all = [];
    try {
      while (query.step()) all.push(query.getAsObject());
      return all;
    } finally {
      query.reset();
    }
  };
}

module.exports = { openUsers, openAllUsers };
