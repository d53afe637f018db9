// Lesson 005's endpoint: POST /echo reads the request body and answers with
// its length, so the edge-cases lab can see how each server framed a body
// sent with Content-Length, chunked, or both.
package main

import (
	"fmt"
	"io"
	"net/http"
)

// maxEchoBytes caps the body one request may send.
const maxEchoBytes = 1 << 20

// addEdgeCaseRoutes registers POST /echo.
func addEdgeCaseRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		// The first read of the body is what makes net/http send
		// "100 Continue" to a client that sent Expect: 100-continue.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEchoBytes))
		if err != nil {
			jsonError(w, http.StatusBadRequest, "could not read the body")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"bytes":%d}`, len(body))
	})
}
