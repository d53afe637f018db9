//! A minimal HTTP server using Axum on the Tokio runtime.

mod users;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{routing::get, Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use users::Db;

/// ?delay_ms is capped, so no request can make the server wait for long.
const MAX_DELAY_MS: i64 = 2000;
/// The three simulated calls behind GET /aggregate, in milliseconds.
const CALLS_MS: [u64; 3] = [10, 20, 50];

#[tokio::main]
async fn main() {
    // Configuration: read from the environment so the same binary runs
    // unchanged in a container and on a laptop.
    let host = std::env::var("HOST").unwrap_or_else(|_| "0.0.0.0".to_string());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_string());
    let addr = format!("{host}:{port}");

    // The users table: an in-memory SQLite database, seeded now, so a broken
    // database stops the server at start-up instead of failing each request.
    let db = users::open().expect("users database");

    // Routes: each path is matched exactly; the Router answers anything
    // else with an empty 404, so no fallback handler is needed.
    let app = Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/users/{id}", get(get_user))
        .route("/aggregate", get(aggregate))
        .with_state(db);

    // Start: bind first so a taken port fails loudly before we serve.
    let listener = TcpListener::bind(&addr).await.expect("bind");
    println!("listening on {addr}");

    // Graceful stop: once the signal future resolves, axum stops accepting,
    // closes idle keep-alive connections and lets in-flight requests finish.
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .expect("server error");
}

// A &'static str becomes a text/plain; charset=utf-8 response.
async fn root() -> &'static str {
    "Hello from Rust Axum\n"
}

// Json sets application/json and writes compact output: {"status":"ok"}.
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
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
        return error(StatusCode::BAD_REQUEST, "id must be a 64-bit integer");
    };
    let (delay, blocking) = match slow_dependency(&query) {
        Ok(wait) => wait,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let parse = began.elapsed();

    let began = Instant::now();
    if blocking {
        // std::thread::sleep blocks the worker thread that runs this task.
        // tokio has one worker per core, yet this often stalls the others'
        // requests too: when this worker held the I/O driver, idle workers
        // sleep on, unaware of new connections (tokio issue #4730).
        std::thread::sleep(delay);
    } else if !delay.is_zero() {
        // .await hands the thread back to tokio: other requests run meanwhile.
        // (tokio's timer ticks in whole milliseconds: even a zero sleep would
        // wait for the next tick, hence the check.)
        tokio::time::sleep(delay).await;
    }
    let found = users::find(&db, id);
    let db_took = began.elapsed();

    let began = Instant::now();
    let (status, body) = match found {
        Ok(Some((id, name))) => (StatusCode::OK, json!({ "id": id, "name": name })),
        Ok(None) => (StatusCode::NOT_FOUND, json!({ "error": format!("no user with id {id}") })),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "database error"),
    };
    let body = body.to_string(); // compact JSON
    let render = began.elapsed();

    let steps = [("parse", parse), ("db", db_took), ("render", render)];
    let timing = timing(parse + db_took + render, &steps);
    let json = [(header::CONTENT_TYPE, "application/json")];
    (status, timing, json, body).into_response()
}

// GET /aggregate[?mode=sequential|parallel]: three independent simulated
// calls, one after another (the naive default) or at the same time, when
// the slowest one alone sets the response time.
async fn aggregate(Query(query): Query<HashMap<String, String>>) -> Response {
    let mode = query.get("mode").map_or("sequential", String::as_str);
    let began = Instant::now();
    let took = match mode {
        "sequential" => {
            let a = simulated_call(CALLS_MS[0]).await;
            let b = simulated_call(CALLS_MS[1]).await;
            let c = simulated_call(CALLS_MS[2]).await;
            [a, b, c]
        }
        "parallel" => {
            // join! polls the three futures together, within this one task.
            let (a, b, c) = tokio::join!(
                simulated_call(CALLS_MS[0]),
                simulated_call(CALLS_MS[1]),
                simulated_call(CALLS_MS[2]),
            );
            [a, b, c]
        }
        _ => return error(StatusCode::BAD_REQUEST, "mode must be sequential or parallel"),
    };
    let total = began.elapsed();

    let steps = [("call1", took[0]), ("call2", took[1]), ("call3", took[2]), ("total", total)];
    let total_ms = (millis(total) * 1000.0).round() / 1000.0;
    let body = json!({ "mode": mode, "calls_ms": CALLS_MS, "total_ms": total_ms });
    (timing(total, &steps), Json(body)).into_response()
}

// Stands in for a call to another service; returns how long it took.
async fn simulated_call(ms: u64) -> Duration {
    let began = Instant::now();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    began.elapsed()
}

// Reads ?delay_ms (0 to MAX_DELAY_MS) and ?mode (blocking or async): how
// long the simulated slow dependency takes, and whether it blocks.
fn slow_dependency(query: &HashMap<String, String>) -> Result<(Duration, bool), String> {
    let ms = match query.get("delay_ms").map_or(Ok(0), |v| v.parse::<i64>()) {
        Ok(ms @ 0..=MAX_DELAY_MS) => ms as u64,
        _ => return Err(format!("delay_ms must be an integer from 0 to {MAX_DELAY_MS}")),
    };
    let blocking = match query.get("mode").map_or("async", String::as_str) {
        "blocking" => true,
        "async" => false,
        _ => return Err("mode must be blocking or async".to_string()),
    };
    Ok((Duration::from_millis(ms), blocking))
}

// Server-Timing, the W3C header that browsers' dev tools draw, and
// X-Timing-MS, the total as one number.
fn timing(total: Duration, steps: &[(&str, Duration)]) -> [(&'static str, String); 2] {
    let entries: Vec<String> =
        steps.iter().map(|(name, took)| format!("{name};dur={:.3}", millis(*took))).collect();
    [("server-timing", entries.join(", ")), ("x-timing-ms", format!("{:.3}", millis(total)))]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// Every error is JSON: {"error":"..."}.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

// Resolves on Ctrl-C (SIGINT) or SIGTERM, whichever comes first. docker
// stop sends SIGTERM: unhandled, it would kill us mid-request, or, as PID 1
// in a container, be ignored until docker gives up and sends SIGKILL.
async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.expect("SIGINT handler");
    };
    #[cfg(unix)]
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler")
            .recv()
            .await;
    };
    // Windows has no SIGTERM; there only Ctrl-C stops the server.
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
