// Lesson 005's endpoint: POST /echo reads the request body and answers with
// its length, so the edge-cases lab can see how each server framed a body
// sent with Content-Length, chunked, or both.
'use strict';

const express = require('express');

// POST /echo, for app.use. express.raw reads any content type into a Buffer
// (up to 1 MB); with no body at all, req.body stays undefined.
function routes() {
  const router = express.Router();
  router.post('/echo', express.raw({ type: () => true, limit: '1mb' }), (req, res) => {
    res.json({ bytes: Buffer.isBuffer(req.body) ? req.body.length : 0 });
  });
  return router;
}

module.exports = { routes };
