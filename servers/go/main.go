// A minimal HTTP server using Go's standard library (plus, in users.go, a
// SQLite driver for the /users lesson).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
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

// maxDelayMS caps ?delay_ms, so no request can make the server wait for long.
const maxDelayMS = 2000

// callsMS are the three simulated calls behind GET /aggregate.
var callsMS = []int{10, 20, 50}

func main() {
	// Configuration: all of it comes from the environment, so the same
	// binary runs unchanged in a container and on a laptop.
	addr := net.JoinHostPort(getenv("HOST", "0.0.0.0"), getenv("PORT", "8080"))

	// The users table: an in-memory SQLite database, seeded now, so a broken
	// database stops the server at start-up instead of failing each request.
	users, err := openUsers()
	if err != nil {
		log.Fatal(err)
	}
	defer users.Close()

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
	mux.HandleFunc("GET /users/{id}", getUser(users))
	mux.HandleFunc("GET /aggregate", aggregate)

	// Start: the zero-value server has no timeouts at all, so set them;
	// a slow or silent client must not be able to hold a connection forever.
	srv := &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
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

// getUser answers GET /users/{id}[?delay_ms=N&mode=blocking|async] and times
// its three steps: parse the input, ask the database, render the JSON.
func getUser(users *sql.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "id must be a 64-bit integer")
			return
		}
		delay, mode, err := slowDependency(r.URL.Query())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		parse := time.Since(began)

		began = time.Now()
		if mode == "blocking" {
			// time.Sleep parks only this request's goroutine; its OS thread
			// moves on to other goroutines, so no other request waits.
			time.Sleep(delay)
		} else {
			// Go has no async/await: every wait parks just its goroutine.
			// This one is a timer that also gives up if the client leaves.
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		user, err := findUser(r.Context(), users, id)
		db := time.Since(began)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			writeError(w, http.StatusInternalServerError, "database error")
			return
		}

		began = time.Now()
		status, body := http.StatusOK, mustJSON(user)
		if err != nil {
			status, body = http.StatusNotFound, mustJSON(apiError{fmt.Sprintf("no user with id %d", id)})
		}
		render := time.Since(began)

		// Headers first: the first Write (or WriteHeader) sends them.
		w.Header().Set("Content-Type", "application/json")
		setTiming(w.Header(), parse+db+render,
			step{"parse", parse}, step{"db", db}, step{"render", render})
		w.WriteHeader(status)
		w.Write(body)
		// Pitfall: a w.Header().Set here, after Write, is silently ignored:
		// the headers have already gone out with the start of the body.
	}
}

// aggregate answers GET /aggregate[?mode=sequential|parallel]: three
// independent simulated calls, one after another (the naive default) or at
// the same time, when the slowest one alone sets the response time.
func aggregate(w http.ResponseWriter, r *http.Request) {
	mode := queryParam(r.URL.Query(), "mode", "sequential")
	if mode != "sequential" && mode != "parallel" {
		writeError(w, http.StatusBadRequest, "mode must be sequential or parallel")
		return
	}
	took := make([]time.Duration, len(callsMS))
	began := time.Now()
	if mode == "sequential" {
		for i, ms := range callsMS {
			took[i] = simulatedCall(ms)
		}
	} else {
		// One goroutine per call, and a WaitGroup to wait for all three.
		// Real calls can fail: golang.org/x/sync/errgroup then also returns
		// the first error and cancels the others.
		var wg sync.WaitGroup
		for i, ms := range callsMS {
			wg.Add(1)
			go func() {
				defer wg.Done()
				took[i] = simulatedCall(ms)
			}()
		}
		wg.Wait()
	}
	total := time.Since(began)

	steps := make([]step, 0, len(took)+1)
	for i, d := range took {
		steps = append(steps, step{fmt.Sprintf("call%d", i+1), d})
	}
	steps = append(steps, step{"total", total})
	w.Header().Set("Content-Type", "application/json")
	setTiming(w.Header(), total, steps...)
	w.Write(mustJSON(struct {
		Mode    string  `json:"mode"`
		CallsMS []int   `json:"calls_ms"`
		TotalMS float64 `json:"total_ms"`
	}{mode, callsMS, millis(total)}))
}

// simulatedCall stands in for a call to another service: it takes ms.
func simulatedCall(ms int) time.Duration {
	began := time.Now()
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return time.Since(began)
}

// slowDependency reads ?delay_ms (0 to maxDelayMS) and ?mode (blocking or async).
func slowDependency(q url.Values) (time.Duration, string, error) {
	ms, err := strconv.ParseInt(queryParam(q, "delay_ms", "0"), 10, 64)
	if err != nil || ms < 0 || ms > maxDelayMS {
		return 0, "", fmt.Errorf("delay_ms must be an integer from 0 to %d", maxDelayMS)
	}
	mode := queryParam(q, "mode", "async")
	if mode != "blocking" && mode != "async" {
		return 0, "", errors.New("mode must be blocking or async")
	}
	return time.Duration(ms) * time.Millisecond, mode, nil
}

// queryParam returns the parameter, or def when it is absent (but not when
// it is present and empty: ?mode= is a mistake worth reporting).
func queryParam(q url.Values, key, def string) string {
	if !q.Has(key) {
		return def
	}
	return q.Get(key)
}

// step is one timed part of a request.
type step struct {
	name string
	took time.Duration
}

// setTiming sets Server-Timing, the W3C header that browsers' dev tools
// draw, and X-Timing-MS, the total as a single number.
func setTiming(h http.Header, total time.Duration, steps ...step) {
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = fmt.Sprintf("%s;dur=%.3f", s.name, millis(s.took))
	}
	h.Set("Server-Timing", strings.Join(parts, ", "))
	h.Set("X-Timing-MS", fmt.Sprintf("%.3f", millis(total)))
}

// millis is a duration in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// apiError is the JSON body of every error: {"error":"..."}.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(mustJSON(apiError{message}))
}

// mustJSON encodes values that cannot fail to encode (no channels or funcs).
func mustJSON(v any) []byte {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return body
}
