// A minimal HTTP server using Go's standard library. Lesson 003's endpoints
// live in bottleneck.go and are added to the routes with one call.
package main

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// getenv returns the variable's value, or def when it is unset or empty.
func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	// Configuration: all of it comes from the environment, so the same
	// binary runs unchanged in a container and on a laptop.
	addr := net.JoinHostPort(getenv("HOST", "0.0.0.0"), getenv("PORT", "8080"))

	// Routes: Go 1.22 patterns carry the method; "{$}" matches "/" exactly,
	// so every unknown path falls through to the mux's built-in 404.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("Hello from Go net/http\n"))
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	})
	addBottleneckRoutes(mux) // lesson 003: /users/{id} and /aggregate
	addEdgeCaseRoutes(mux)   // lesson 005: POST /echo
	addReportRoutes(mux)     // lesson 008: GET /report, CPU-bound
	addProfilingRoutes(mux)  // lesson 010: PROFILE=on, GET /debug/pprof/profile

	// Lesson 008: LOAD_SHEDDING=on refuses work beyond a few requests in flight.
	var handler http.Handler = mux
	if os.Getenv("LOAD_SHEDDING") == "on" {
		handler = shedLoad(mux)
	}

	// Start: the zero-value server has no timeouts at all, so set them;
	// a slow or silent client must not be able to hold a connection forever.
	srv := &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	// Lesson 006: STACK_DEFAULT_TIMEOUTS=1 keeps net/http's defaults, which are
	// no timeouts at all, so the slow-clients lab can show what they prevent.
	if os.Getenv("STACK_DEFAULT_TIMEOUTS") == "1" {
		srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = 0, 0, 0, 0
	}
	// Lesson 007: GRACEFUL_SHUTDOWN=off serves without a signal handler, so
	// SIGTERM takes Go's default action: exit at once, cutting every request.
	if os.Getenv("GRACEFUL_SHUTDOWN") == "off" {
		log.Fatal(srv.ListenAndServe())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	go func() {
		// ListenAndServe always returns an error; ErrServerClosed is the
		// expected one once Shutdown has been called.
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()
	log.Printf("listening on %s", addr)

	// Graceful stop: wait for SIGINT/SIGTERM, then let Shutdown close idle
	// keep-alive connections and wait for in-flight requests, with a deadline.
	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Printf("shutdown: %v", err)
	}
}
