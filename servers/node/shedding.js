// Lesson 008: LOAD_SHEDDING=on answers a fast 503 while the event loop runs late.
//
// A counter of requests in flight never rises on one thread that runs each
// handler to the end: the waiting requests sit unread in the kernel's socket
// buffers. What the loop can see is its own lateness: a timer asked to fire
// every 10 ms fires late by about the work queued ahead of it. A request that
// arrives while that timer is over MAX_LAG_MS overdue is refused: the idea of
// toobusy-js and @fastify/under-pressure, which go by the lateness their
// timer measured when it last fired.
'use strict';

const TICK_MS = 10;
const MAX_LAG_MS = 50;

// Express middleware; app.use it before the routes.
function shedWhenLate() {
  let due = performance.now() + TICK_MS; // when the timer should fire next
  setInterval(() => {
    due = performance.now() + TICK_MS;
  }, TICK_MS).unref(); // unref: the timer alone must not keep the process alive
  return (req, res, next) => {
    // How overdue the timer is now, not at its last firing: the loop reads
    // hundreds of requests in one pass, and a figure kept from the last tick
    // would let the whole batch in.
    if (performance.now() - due <= MAX_LAG_MS) return next();
    res.status(503).set('Retry-After', '1').json({ error: 'overloaded, try again later' });
  };
}

module.exports = { shedWhenLate };
