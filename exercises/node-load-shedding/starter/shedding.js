// Load shedding for the overload exercise: yours to write (see the task).
//
// One event loop cannot count the requests waiting for it: they sit unread
// in the kernel's socket buffers until the loop gets round to them, and a
// counter of requests in handlers stays at one. What it can see is its own
// lateness: a timer asked to fire every 10 ms fires late by about the work
// queued ahead of it. A request that arrives while that timer is over
// MAX_LAG_MS overdue is refused: the idea of toobusy-js and
// @fastify/under-pressure, which go by the lateness their timer measured
// when it last fired.
'use strict';

const TICK_MS = 10;
const MAX_LAG_MS = 50;

module.exports = { TICK_MS, MAX_LAG_MS };
