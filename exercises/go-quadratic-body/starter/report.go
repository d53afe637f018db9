// The overload lab's endpoint: GET /report?items=N does N steps of pure CPU
// work, so its cost per request is set by the client. Each step serialises
// one user to JSON and formats a line; the lines are then hashed together.
package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log"
	"net/http"
	"strconv"
)

// defaultItems sets the default cost; maxItems caps it, so no request can
// hold a core for long.
const (
	defaultItems = 250
	maxItems     = 10000
)

// addReportRoutes opens its own copy of the users table and registers GET /report.
func addReportRoutes(mux *http.ServeMux) {
	users, err := openUsers()
	if err != nil {
		log.Fatal(err)
	}
	mux.HandleFunc("GET /report", report(users))
}

// report answers {"items":N,"bytes":B,"sha256":"..."}: the same body, byte
// for byte, as the other three servers give for the same N.
func report(users *sql.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		items, err := strconv.Atoi(queryParam(r.URL.Query(), "items", strconv.Itoa(defaultItems)))
		if err != nil || items < 1 || items > maxItems {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("items must be an integer from 1 to %d", maxItems))
			return
		}
		all, err := allUsers(r.Context(), users)
		if err != nil || len(all) == 0 {
			jsonError(w, http.StatusInternalServerError, "database error")
			return
		}
		// Cycle through the users: "0 {"id":1,"name":"Grace"}\n", "1 ...".
		lines := ""
		for i := range items {
			lines += fmt.Sprintf("%d %s\n", i, mustJSON(all[i%len(all)]))
		}
		sum := sha256.Sum256([]byte(lines))
		w.Header().Set("Content-Type", "application/json")
		w.Write(mustJSON(struct {
			Items  int    `json:"items"`
			Bytes  int    `json:"bytes"`
			SHA256 string `json:"sha256"`
		}{items, len(lines), hex.EncodeToString(sum[:])}))
	}
}
