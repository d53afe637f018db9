// Lesson 010's switch: PROFILE=on adds Go's own CPU profiler at
// GET /debug/pprof/profile?seconds=N. It samples every goroutine's stack 100
// times a second of CPU time (runtime/pprof's fixed rate) for N seconds and
// answers with a gzip-compressed pprof protocol buffer, which
// `go tool pprof` reads. Off (the route is absent) as shipped: a profile
// shows the server's code paths to anyone who asks.
package main

import (
	"log"
	"net/http"
	"net/http/pprof"
	"os"
)

// addProfilingRoutes registers the profiler's route when PROFILE=on.
// Importing net/http/pprof also registers its handlers on
// http.DefaultServeMux, which this server never serves; we mount the one we
// need on our own mux. (The handler moves its own write deadline N seconds
// later, so the server's 10 s WriteTimeout does not cut a long profile.)
func addProfilingRoutes(mux *http.ServeMux) {
	if os.Getenv("PROFILE") != "on" {
		return
	}
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	log.Printf("PROFILE=on: CPU profile at /debug/pprof/profile?seconds=N (100 Hz)")
}
