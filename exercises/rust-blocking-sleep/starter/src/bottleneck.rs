//! Lesson 003's endpoints: GET /users/{id}, which times its steps and can be
//! given a slow dependency, and GET /aggregate, three calls in sequence or in
//! parallel. Both report their steps in Server-Timing.

use std::collections::HashMap;
use std::fmt::Display;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{routing::get, Json, Router};
use futures_util::future::join_all;
use serde_json::json;

use crate::users::{self, Db};

/// ?delay_ms is capped, so no request can make the server wait for long.
const MAX_DELAY_MS: i64 = 2000;
/// The three simulated calls behind GET /aggregate, in milliseconds.
const CALLS_MS: [u64; 3] = [10, 20, 50];

/// The two routes, for Router::merge. The users database is seeded now, so a
/// broken one stops the server at start-up instead of failing each request.
pub fn routes() -> Router {
    let db = users::open().expect("users database");
    Router::new()
        .route("/users/{id}", get(get_user))
        .route("/aggregate", get(aggregate))
        .with_state(db)
}

// GET /users/{id}[?delay_ms=N&mode=blocking|async]: one user from the
// database, with its three steps timed: parse the input, ask the database,
// render the JSON. The id is taken as text and parsed by hand, so a bad one
// gets our JSON error rather than Path<i64>'s plain-text rejection.
async fn get_user(
    State(db): State<Db>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let began = Instant::now();
    let Ok(id) = id.parse::<i64>() else {
        return json_error(StatusCode::BAD_REQUEST, "id must be a 64-bit integer");
    };
    let (delay, mode) = match slow_dependency(&query) {
        Ok(wait) => wait,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, &message),
    };
    let parse = began.elapsed();

    let began = Instant::now();
    if mode == "blocking" {
        // std::thread::sleep blocks the worker thread that runs this task.
        // tokio has one worker per core, yet this often stalls the others'
        // requests too: when this worker held the I/O driver, idle workers
        // sleep on, unaware of new connections (tokio issue #4730).
        std::thread::sleep(delay);
    } else if !delay.is_zero() {
        // The default: the dependency answers after the delay, then we go on.
        std::thread::sleep(delay);
    }
    let found = users::find(&db, id);
    let db_took = began.elapsed();

    let began = Instant::now();
    let (status, body) = match found {
        Ok(Some((id, name))) => (StatusCode::OK, json!({ "id": id, "name": name })),
        Ok(None) => (StatusCode::NOT_FOUND, json!({ "error": format!("no user with id {id}") })),
        Err(_) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, "database error"),
    };
    let body = body.to_string(); // compact JSON
    let render = began.elapsed();

    // The headers are part of the value returned: axum sends them before
    // the body, so there is no way to set one too late.
    let steps = [("parse", parse), ("db", db_took), ("render", render)];
    let timing = timing_headers(parse + db_took + render, &steps);
    let json = [(header::CONTENT_TYPE, "application/json")];
    (status, timing, json, body).into_response()
}

// GET /aggregate[?mode=sequential|parallel]: three independent simulated
// calls, one after another (the naive default) or at the same time, when
// the slowest one alone sets the response time.
async fn aggregate(Query(query): Query<HashMap<String, String>>) -> Response {
    let mode = query.get("mode").map_or("sequential", String::as_str);
    if mode != "sequential" && mode != "parallel" {
        return json_error(StatusCode::BAD_REQUEST, "mode must be sequential or parallel");
    }
    let began = Instant::now();
    let took: Vec<Duration> = if mode == "sequential" {
        let mut took = Vec::new();
        for ms in CALLS_MS {
            took.push(simulated_call(ms).await);
        }
        took
    } else {
        // join_all polls the three futures together, within this one task.
        join_all(CALLS_MS.map(simulated_call)).await
    };
    let total = began.elapsed();

    let mut steps: Vec<(String, Duration)> =
        took.iter().enumerate().map(|(i, d)| (format!("call{}", i + 1), *d)).collect();
    steps.push(("total".to_string(), total));
    let total_ms = (millis(total) * 1000.0).round() / 1000.0;
    let body = json!({ "mode": mode, "calls_ms": CALLS_MS, "total_ms": total_ms });
    (timing_headers(total, &steps), Json(body)).into_response()
}

// Stands in for a call to another service; returns how long it took.
async fn simulated_call(ms: u64) -> Duration {
    let began = Instant::now();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    began.elapsed()
}

// Reads ?delay_ms (0 to MAX_DELAY_MS) and ?mode (blocking or async): how
// long the simulated slow dependency takes, and how it waits.
fn slow_dependency(query: &HashMap<String, String>) -> Result<(Duration, &str), String> {
    let ms = match query.get("delay_ms").map_or(Ok(0), |v| v.parse::<i64>()) {
        Ok(ms @ 0..=MAX_DELAY_MS) => ms as u64,
        _ => return Err(format!("delay_ms must be an integer from 0 to {MAX_DELAY_MS}")),
    };
    let mode = query.get("mode").map_or("async", String::as_str);
    if mode != "blocking" && mode != "async" {
        return Err("mode must be blocking or async".to_string());
    }
    Ok((Duration::from_millis(ms), mode))
}

// Server-Timing, the W3C header that browsers' dev tools draw, and
// X-Timing-MS, the total as one number.
fn timing_headers(
    total: Duration,
    steps: &[(impl Display, Duration)],
) -> [(&'static str, String); 2] {
    let entries: Vec<String> =
        steps.iter().map(|(name, took)| format!("{name};dur={:.3}", millis(*took))).collect();
    [("server-timing", entries.join(", ")), ("x-timing-ms", format!("{:.3}", millis(total)))]
}

// A duration in milliseconds.
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// {"error":"..."} with the given status: the body of the errors these
// handlers send. (A path no route matches still gets the Router's empty 404.)
fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
