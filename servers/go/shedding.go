// Lesson 008: LOAD_SHEDDING=on caps the requests inside handlers at once;
// one more gets a fast 503 instead of a place in a queue it may never leave.
package main

import "net/http"

// maxInFlight: a handful is enough to keep one core busy.
const maxInFlight = 8

// shedLoad wraps the whole mux. A buffered channel is the idiomatic
// semaphore: a send takes a slot, a receive frees it, and select's default
// runs when no slot is free, so refusing costs no waiting at all.
func shedLoad(next http.Handler) http.Handler {
	inFlight := make(chan struct{}, maxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case inFlight <- struct{}{}:
			defer func() { <-inFlight }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			jsonError(w, http.StatusServiceUnavailable, "overloaded, try again later")
		}
	})
}
