// A minimal HTTP server using Express 5 on Node.js.
'use strict';

const { setTimeout: sleep } = require('node:timers/promises');
const express = require('express');
const { openUsers } = require('./users');

// Configuration: read from the environment so the same code runs
// unchanged in a container and on a laptop.
const host = process.env.HOST || '0.0.0.0';
const port = Number(process.env.PORT || 8080);
// ?delay_ms is capped, so no request can make the server wait for long.
const MAX_DELAY_MS = 2000;
// The three simulated calls behind GET /aggregate, in milliseconds.
const CALLS_MS = [10, 20, 50];

// The users table: an in-memory SQLite database, opened and seeded now.
// sql.js loads asynchronously, so this is a promise the route awaits
// (at once, when ready); if it fails, the unhandled rejection stops the
// server at start-up.
const usersReady = openUsers();

// Routes: Express matches these paths exactly and sends its own 404 for
// anything else. The X-Powered-By header only advertises the framework.
const app = express();
app.disable('x-powered-by');

app.get('/', (req, res) => {
  res.type('text/plain').send('Hello from Node Express\n');
});

app.get('/health', (req, res) => {
  // res.json uses JSON.stringify, which writes compact {"status":"ok"}.
  res.json({ status: 'ok' });
});

// GET /users/:id[?delay_ms=N&mode=blocking|async]: one user from the
// database, with its three steps timed: parse the input, ask the database,
// render the JSON.
app.get('/users/:id', async (req, res) => {
  const findUser = await usersReady;
  let began = performance.now();
  const id = parseInt64(req.params.id);
  if (id === null) return sendError(res, 400, 'id must be a 64-bit integer');
  const delay = parseInt64(queryParam(req, 'delay_ms', '0'));
  if (delay === null || delay < 0n || delay > BigInt(MAX_DELAY_MS)) {
    return sendError(res, 400, `delay_ms must be an integer from 0 to ${MAX_DELAY_MS}`);
  }
  const mode = queryParam(req, 'mode', 'async');
  if (mode !== 'blocking' && mode !== 'async') {
    return sendError(res, 400, 'mode must be blocking or async');
  }
  const parse = performance.now() - began;

  began = performance.now();
  if (mode === 'blocking') {
    // Atomics.wait blocks its thread, here the one thread that runs the
    // event loop: every other request, /health included, waits until it
    // returns. (A busy loop would do the same while burning a core.)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(delay));
  } else {
    // await hands the loop back: other requests run while this one waits.
    await sleepAtLeast(Number(delay));
  }
  const user = findUser(id);
  const db = performance.now() - began;

  began = performance.now();
  const [status, body] = user
    ? [200, JSON.stringify(user)]
    : [404, JSON.stringify({ error: `no user with id ${id}` })];
  const render = performance.now() - began;

  res.set(timingHeaders(parse + db + render, { parse, db, render }));
  res.status(status).type('application/json').send(body);
});

// GET /aggregate[?mode=sequential|parallel]: three independent simulated
// calls, one after another (the naive default) or at the same time, when
// the slowest one alone sets the response time.
app.get('/aggregate', async (req, res) => {
  const mode = queryParam(req, 'mode', 'sequential');
  if (mode !== 'sequential' && mode !== 'parallel') {
    return sendError(res, 400, 'mode must be sequential or parallel');
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

  const calls = Object.fromEntries(took.map((ms, i) => [`call${i + 1}`, ms]));
  res.set(timingHeaders(total, { ...calls, total }));
  res.json({ mode, calls_ms: CALLS_MS, total_ms: Number(total.toFixed(3)) });
});

// Start: keep the http.Server that listen() returns; we need it to stop.
const server = app.listen(port, host, (err) => {
  if (err) throw err; // Express 5 passes listen errors (e.g. port in use) here
  console.log(`listening on ${host}:${port}`);
});

// Graceful stop: unhandled, SIGTERM would kill Node mid-request, and as
// PID 1 in a container it would be ignored, so handle it. close() stops
// accepting and calls back once every connection is gone.
// Idle keep-alive sockets would hold it open, and a request still running
// leaves its socket idle only when it finishes, so sweep the idle ones now
// and every 100 ms (Go's Shutdown polls the same way).
function shutdown() {
  server.close(() => process.exit(0));
  const sweep = () => server.closeIdleConnections();
  sweep();
  setInterval(sweep, 100).unref();
  // Last resort if a client never finishes; unref() so it cannot keep us alive.
  setTimeout(() => process.exit(1), 5000).unref();
}
// once: a second Ctrl-C falls back to the default action and kills at once.
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

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

// Every error is JSON: {"error":"..."}.
function sendError(res, status, message) {
  res.status(status).json({ error: message });
}
