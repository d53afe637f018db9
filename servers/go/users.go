package main

import (
	"context"
	"database/sql"

	// The server's one dependency outside the standard library: SQLite
	// translated from C into Go, so CGO stays off and the binary static.
	_ "modernc.org/sqlite"
)

// user is one row of the users table, and the JSON body of GET /users/{id}.
type user struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// openUsers creates the in-memory users database and seeds it.
func openUsers() (*sql.DB, error) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	// database/sql keeps a pool of connections, and each new connection to
	// ":memory:" opens a new, empty database: keep exactly one. Queries take
	// microseconds, so requests hardly ever wait for it.
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`
		CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
		INSERT INTO users (id, name) VALUES
			(1, 'Grace'), (7, 'Linus'), (42, 'Ada'), (64, 'Ken'), (99, 'Barbara');`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// allUsers reads every user, in id order.
func allUsers(ctx context.Context, db *sql.DB) ([]user, error) {
	rows, err := db.QueryContext(ctx, "SELECT id, name FROM users ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []user
	for rows.Next() {
		var u user
		if err := rows.Scan(&u.ID, &u.Name); err != nil {
			return nil, err
		}
		all = append(all, u)
	}
	return all, rows.Err()
}

// findUser looks one user up; sql.ErrNoRows means there is no such id.
func findUser(ctx context.Context, db *sql.DB, id int64) (user, error) {
	var u user
	err := db.QueryRowContext(ctx, "SELECT id, name FROM users WHERE id = ?", id).Scan(&u.ID, &u.Name)
	return u, err
}
