//! Lesson 005's endpoint: POST /echo reads the request body and answers with
//! its length, so the edge-cases lab can see how each server framed a body
//! sent with Content-Length, chunked, or both.

use axum::body::Bytes;
use axum::{routing::post, Json, Router};
use serde_json::{json, Value};

/// POST /echo, for Router::merge.
pub fn routes() -> Router {
    Router::new().route("/echo", post(echo))
}

// The Bytes extractor reads the whole body (axum caps it at 2 MB); hyper
// sends "100 Continue" when the body is first read, if the client asked.
async fn echo(body: Bytes) -> Json<Value> {
    Json(json!({ "bytes": body.len() }))
}
