// The overload lab's endpoint: GET /report?items=N does N steps of pure CPU
// work, so its cost per request is set by the client. Each step serialises
// one user to JSON and formats a line; the lines are then hashed together.
'use strict';

const { createHash } = require('node:crypto');
const express = require('express');
const { openAllUsers } = require('./users');

// DEFAULT_ITEMS sets the default cost; MAX_ITEMS caps it, so no request can
// hold the event loop for long.
const DEFAULT_ITEMS = 250;
const MAX_ITEMS = 10000;

// GET /report, for app.use, with its own copy of the users table.
function routes() {
  const allUsersReady = openAllUsers();
  const router = express.Router();
  router.get('/report', (req, res) => report(req, res, allUsersReady));
  return router;
}

// {"items":N,"bytes":B,"sha256":"..."}: the same body, byte for byte, as the
// other three servers give for the same N. The work runs on the event loop
// and holds it for its whole duration (about a millisecond).
async function report(req, res, allUsersReady) {
  const allUsers = await allUsersReady;
  const text = req.query.items === undefined ? String(DEFAULT_ITEMS) : req.query.items;
  // A repeated parameter arrives as an array: not a string, so a 400.
  const items = typeof text === 'string' && /^[+-]?[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(items >= 1 && items <= MAX_ITEMS)) {
    return res.status(400).json({ error: `items must be an integer from 1 to ${MAX_ITEMS}` });
  }
  const everyone = allUsers();
  // Cycle through the users: '0 {"id":1,"name":"Grace"}\n', '1 ...'.
  const lines = [];
  for (let i = 0; i < items; i++) {
    lines.push(`${i} ${JSON.stringify(everyone[i % everyone.length])}\n`);
  }
  const report = Buffer.from(lines.join(''));
  const sha256 = createHash('sha256').update(report).digest('hex');
  res.json({ items, bytes: report.length, sha256 });
}

module.exports = { routes };
