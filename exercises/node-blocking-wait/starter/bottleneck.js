// Lesson 003's endpoints: GET /users/:id, which times its steps and can be
// given a slow dependency, and GET /aggregate, three calls in sequence or in
// parallel. Both report their steps in Server-Timing.
'use strict';

const { setTimeout: sleep } = require('node:timers/promises');
const express = require('express');
const { openUsers } = require('./users');

// ?delay_ms is capped, so no request can make the server wait for long.
const MAX_DELAY_MS = 2000;
// The three simulated calls behind GET /aggregate, in milliseconds.
const CALLS_MS = [10, 20, 50];

// The two routes, for app.use. The users database is opened and seeded now.
// sql.js loads asynchronously, so this is a promise getUser awaits (at once,
// when ready); if it fails, the unhandled rejection stops the server at
// start-up.
function routes() {
  const usersReady = openUsers();
  const router = express.Router();
  router.get('/users/:id', (req, res) => getUser(req, res, usersReady));
  router.get('/aggregate', aggregate);
  return router;
}

// GET /users/:id[?delay_ms=N&mode=blocking|async]: one user from the
// database, with its three steps timed: parse the input, ask the database,
// render the JSON.
async function getUser(req, res, usersReady) {
  const findUser = await usersReady;
  let began = performance.now();
  const id = parseInt64(req.params.id);
  if (id === null) return jsonError(res, 400, 'id must be a 64-bit integer');
  const wait = slowDependency(req);
  if (wait.error) return jsonError(res, 400, wait.error);
  const { delay, mode } = wait;
  const parse = performance.now() - began;

  began = performance.now();
  if (mode === 'blocking') {
    // Atomics.wait blocks its thread, here the one thread that runs the
    // event loop: every other request, /health included, waits until it
    // returns. (A busy loop would do the same while burning a core.)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
  } else {
    // The default: the dependency answers after the delay, then we go on.
    const until = performance.now() + delay;
    while (performance.now() < until);
  }
  const user = findUser(id);
  const db = performance.now() - began;

  began = performance.now();
  const [status, body] = user
    ? [200, JSON.stringify(user)]
    : [404, JSON.stringify({ error: `no user with id ${id}` })];
  const render = performance.now() - began;

  // Headers first: res.send writes them together with the body.
  res.set(timingHeaders(parse + db + render, { parse, db, render }));
  res.status(status).type('application/json').send(body);
}

// GET /aggregate[?mode=sequential|parallel]: three independent simulated
// calls, one after another (the naive default) or at the same time, when
// the slowest one alone sets the response time.
async function aggregate(req, res) {
  const mode = queryParam(req, 'mode', 'sequential');
  if (mode !== 'sequential' && mode !== 'parallel') {
    return jsonError(res, 400, 'mode must be sequential or parallel');
  }
  const began = performance.now();
  let took;
  if (mode === 'sequential') {
    took = [];
    for (const ms of CALLS_MS) took.push(await simulatedCall(ms));
  } else {
    // Promise.all starts the three together and waits for the last one.
    took = await Promise.all(CALLS_MS.map((ms) => simulatedCall(ms)));
  }
  const total = performance.now() - began;

  const steps = Object.fromEntries(took.map((ms, i) => [`call${i + 1}`, ms]));
  steps.total = total;
  res.set(timingHeaders(total, steps));
  res.json({ mode, calls_ms: CALLS_MS, total_ms: Number(total.toFixed(3)) });
}

// Stands in for a call to another service; resolves to the ms it took.
async function simulatedCall(ms) {
  const began = performance.now();
  await sleepAtLeast(ms);
  return performance.now() - began;
}

// Node's timers count whole milliseconds of a clock read once per loop
// turn, so one can fire up to 1 ms early: wait again for whatever is left
// (and not at all for 0 ms, where setTimeout would still wait 1 ms).
async function sleepAtLeast(ms) {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await sleep(left);
}

// Reads ?delay_ms (0 to MAX_DELAY_MS) and ?mode (blocking or async):
// { delay, mode } in ms, or { error } with the message to send.
function slowDependency(req) {
  const delay = parseInt64(queryParam(req, 'delay_ms', '0'));
  if (delay === null || delay < 0n || delay > BigInt(MAX_DELAY_MS)) {
    return { error: `delay_ms must be an integer from 0 to ${MAX_DELAY_MS}` };
  }
  const mode = queryParam(req, 'mode', 'async');
  if (mode !== 'blocking' && mode !== 'async') {
    return { error: 'mode must be blocking or async' };
  }
  return { delay: Number(delay), mode };
}

// The query parameter, or def when it is absent (but not when present and
// empty: ?mode= is a mistake worth reporting).
function queryParam(req, name, def) {
  return req.query[name] === undefined ? def : req.query[name];
}

// A decimal integer that fits in 64 bits, as a BigInt (a JS number is exact
// only up to 2^53), or null. A repeated parameter arrives as an array: null.
function parseInt64(text) {
  if (typeof text !== 'string' || !/^[+-]?[0-9]+$/.test(text)) return null;
  const value = BigInt(text);
  return BigInt.asIntN(64, value) === value ? value : null;
}

// Server-Timing, the W3C header that browsers' dev tools draw, and
// X-Timing-MS, the total as one number. Durations in milliseconds.
function timingHeaders(total, steps) {
  const entries = Object.entries(steps).map(([name, ms]) => `${name};dur=${ms.toFixed(3)}`);
  return { 'Server-Timing': entries.join(', '), 'X-Timing-MS': total.toFixed(3) };
}

// {"error":"..."} with the given status: the body of the errors these
// handlers send. (A path no route matches still gets Express's own HTML 404.)
function jsonError(res, status, message) {
  res.status(status).json({ error: message });
}

module.exports = { routes };
