// Lesson 003's endpoints: GET /users/{id}, which times its steps and can be
// given a slow dependency, and GET /aggregate, three calls in sequence or
// in parallel. Both report their steps in Server-Timing.
package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxDelayMS caps ?delay_ms, so no request can make the server wait for long.
const maxDelayMS = 2000

// callsMS are the three simulated calls behind GET /aggregate.
var callsMS = []int{10, 20, 50}

// addBottleneckRoutes opens the users database and registers the two routes.
// The database is seeded now, so a broken one stops the server at start-up
// instead of failing each request.
func addBottleneckRoutes(mux *http.ServeMux) {
	users, err := openUsers()
	if err != nil {
		log.Fatal(err)
	}
	mux.HandleFunc("GET /users/{id}", getUser(users))
	mux.HandleFunc("GET /aggregate", aggregate)
}

// getUser answers GET /users/{id}[?delay_ms=N&mode=blocking|async] and times
// its three steps: parse the input, ask the database, render the JSON.
func getUser(users *sql.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			jsonError(w, http.StatusBadRequest, "id must be a 64-bit integer")
			return
		}
		delay, mode, err := slowDependency(r.URL.Query())
		if err != nil {
			jsonError(w, http.StatusBadRequest, err.Error())
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
			jsonError(w, http.StatusInternalServerError, "database error")
			return
		}

		began = time.Now()
		status, body := http.StatusOK, mustJSON(user)
		if err != nil {
			status, body = http.StatusNotFound, mustJSON(apiError{fmt.Sprintf("no user with id %d", id)})
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
		render := time.Since(began)

		// Timing last, so that render includes writing the response.
		setTimingHeaders(w.Header(), parse+db+render,
			step{"parse", parse}, step{"db", db}, step{"render", render})
	}
}

// aggregate answers GET /aggregate[?mode=sequential|parallel]: three
// independent simulated calls, one after another (the naive default) or at
// the same time, when the slowest one alone sets the response time.
func aggregate(w http.ResponseWriter, r *http.Request) {
	mode := queryParam(r.URL.Query(), "mode", "sequential")
	if mode != "sequential" && mode != "parallel" {
		jsonError(w, http.StatusBadRequest, "mode must be sequential or parallel")
		return
	}
	began := time.Now()
	took := make([]time.Duration, len(callsMS))
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
	setTimingHeaders(w.Header(), total, steps...)
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

// setTimingHeaders sets Server-Timing, the W3C header that browsers' dev
// tools draw, and X-Timing-MS, the total as one number.
func setTimingHeaders(h http.Header, total time.Duration, steps ...step) {
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

// apiError is the JSON body of the errors these handlers send. (A path no
// route matches still gets the mux's own plain-text 404.)
type apiError struct {
	Error string `json:"error"`
}

// jsonError sends {"error":"..."} with the given status.
func jsonError(w http.ResponseWriter, status int, message string) {
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
