// Lesson 010's switch: PROFILE=on adds V8's own CPU profiler at
// GET /debug/cpuprofile?seconds=N, through the inspector module (the same
// protocol Chrome DevTools speaks). V8 samples the JavaScript stack every
// 10 ms (100 Hz; its default is 1 ms) for N seconds and the answer is a
// .cpuprofile JSON document, which DevTools and speedscope open. Off (the
// route is absent) as shipped: a profile shows the server's code paths to
// anyone who asks.
'use strict';

const inspector = require('node:inspector');
const express = require('express');

const SAMPLING_INTERVAL_US = 10000;
const MAX_SECONDS = 30;

// GET /debug/cpuprofile, for app.use; an empty router unless PROFILE=on.
function routes() {
  const router = express.Router();
  if (process.env.PROFILE !== 'on') return router;

  // A session in this very process: V8 samples from its own thread, so the
  // event loop keeps serving while the profile is taken.
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => {
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result)));
  });
  let taking = false; // V8 keeps one profile of a name at a time

  router.get('/debug/cpuprofile', async (req, res) => {
    const seconds = Number(req.query.seconds ?? 5);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SECONDS) {
      res.status(400).json({ error: `seconds must be an integer from 1 to ${MAX_SECONDS}` });
      return;
    }
    if (taking) {
      res.status(409).json({ error: 'a profile is already being taken' });
      return;
    }
    taking = true;
    try {
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
      await post('Profiler.start');
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const { profile } = await post('Profiler.stop');
      res.json(profile);
    } finally {
      taking = false;
    }
  });
  console.log('PROFILE=on: CPU profile at /debug/cpuprofile?seconds=N (100 Hz)');
  return router;
}

module.exports = { routes };
