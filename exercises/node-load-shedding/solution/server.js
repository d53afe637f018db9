// A minimal HTTP server using Express 5 on Node.js. Lesson 003's endpoints
// live in bottleneck.js and are added to the routes with one call.
'use strict';

const express = require('express');
const bottleneck = require('./bottleneck');
const edgecases = require('./edgecases');
const report = require('./report');
const { shedWhenLate } = require('./shedding');
const profiling = require('./profiling');

// Configuration: read from the environment so the same code runs
// unchanged in a container and on a laptop.
const host = process.env.HOST || '0.0.0.0';
const port = Number(process.env.PORT || 8080);

// Routes: Express matches these paths exactly and sends its own 404 for
// anything else. The X-Powered-By header only advertises the framework.
const app = express();
app.disable('x-powered-by');

// Refuse work while the event loop runs late, always. First, so a refusal
// costs no routing. (A counter of requests in flight would stay at one.)
app.use(shedWhenLate());

app.get('/', (req, res) => {
  res.type('text/plain').send('Hello from Node Express\n');
});

app.get('/health', (req, res) => {
  // res.json uses JSON.stringify, which writes compact {"status":"ok"}.
  res.json({ status: 'ok' });
});

app.use(bottleneck.routes()); // lesson 003: /users/:id and /aggregate
app.use(edgecases.routes()); // lesson 005: POST /echo
app.use(report.routes()); // lesson 008: GET /report, CPU-bound
app.use(profiling.routes()); // lesson 010: PROFILE=on, GET /debug/cpuprofile

// Start: keep the http.Server that listen() returns; we need it to stop.
const server = app.listen(port, host, (err) => {
  if (err) throw err; // Express 5 passes listen errors (e.g. port in use) here
  console.log(`listening on ${host}:${port}`);
});

// Timeouts: a client still sending its headers after 5 s gets a 408 and is
// cut off. Node checks every connectionsCheckingInterval (30 s by default;
// read when listening starts, so set here), and its defaults are 60 s for
// headers, 300 s for a whole request. Lesson 006: STACK_DEFAULT_TIMEOUTS=1
// keeps Node's defaults, so the slow-clients lab can compare.
if (process.env.STACK_DEFAULT_TIMEOUTS !== '1') {
  server.headersTimeout = 5000;
  server.requestTimeout = 10000;
  server.connectionsCheckingInterval = 1000;
}

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
// Lesson 007: GRACEFUL_SHUTDOWN=off installs no handler, so the signal's
// default action applies (and as PID 1 in a container, nothing happens).
if (process.env.GRACEFUL_SHUTDOWN !== 'off') {
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
