//! The overload lab's endpoint: GET /report?items=N does N steps of pure CPU
//! work, so its cost per request is set by the client. Each step serialises
//! one user to JSON and formats a line; the lines are then hashed together.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{routing::get, Json, Router};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::users::{self, Db};

/// DEFAULT_ITEMS sets the default cost; MAX_ITEMS caps it, so no request can
/// hold a worker thread for long.
const DEFAULT_ITEMS: i64 = 250;
const MAX_ITEMS: i64 = 10000;

/// GET /report, for Router::merge, with its own copy of the users table.
pub fn routes() -> Router {
    let db = users::open().expect("users database");
    Router::new().route("/report", get(report)).with_state(db)
}

// {"items":N,"bytes":B,"sha256":"..."}: the same body, byte for byte, as the
// other three servers give for the same N. The work runs on the tokio worker
// thread itself: about a millisecond, short enough not to need
// spawn_blocking.
async fn report(State(db): State<Db>, Query(query): Query<HashMap<String, String>>) -> Response {
    let items = match query.get("items").map_or(Ok(DEFAULT_ITEMS), |v| v.parse::<i64>()) {
        Ok(n @ 1..=MAX_ITEMS) => n as usize,
        _ => {
            let message = format!("items must be an integer from 1 to {MAX_ITEMS}");
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response();
        }
    };
    let everyone = match users::all(&db) {
        Ok(all) if !all.is_empty() => all,
        _ => {
            let body = Json(json!({ "error": "database error" }));
            return (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
        }
    };
    // Cycle through the users: "0 {"id":1,"name":"Grace"}\n", "1 ...".
    let mut lines = String::new();
    for i in 0..items {
        let (id, name) = &everyone[i % everyone.len()];
        // Writing to a String cannot fail.
        let _ = writeln!(lines, "{i} {}", json!({ "id": id, "name": name }));
    }
    let sha256 = format!("{:x}", Sha256::digest(lines.as_bytes()));
    let body = json!({ "items": items, "bytes": lines.len(), "sha256": sha256 });
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
