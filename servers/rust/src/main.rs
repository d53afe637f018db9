//! A minimal HTTP server using Axum on the Tokio runtime. Lesson 003's
//! endpoints live in bottleneck.rs and are added to the routes with one call.

mod bottleneck;
mod edgecases;
mod profiling;
mod report;
mod shedding;
mod users;

use axum::{routing::get, Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    // Configuration: read from the environment so the same binary runs
    // unchanged in a container and on a laptop.
    let host = std::env::var("HOST").unwrap_or_else(|_| "0.0.0.0".to_string());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_string());
    let addr = format!("{host}:{port}");

    // Routes: each path is matched exactly; the Router answers anything
    // else with an empty 404, so no fallback handler is needed.
    let app = Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .merge(bottleneck::routes()) // lesson 003: /users/{id} and /aggregate
        .merge(edgecases::routes()) // lesson 005: POST /echo
        .merge(report::routes()) // lesson 008: GET /report, CPU-bound
        .merge(profiling::routes()); // lesson 010: PROFILE=on, GET /debug/pprof/profile

    // Lesson 008: LOAD_SHEDDING=on refuses work beyond a few requests in flight.
    let app = if std::env::var("LOAD_SHEDDING").as_deref() == Ok("on") {
        shedding::limit(app)
    } else {
        app
    };

    // Timeouts: axum::serve sets none, and gives hyper no timer to run its
    // header-read timeout with, so a slow client can hold a connection as
    // long as it likes; STACK_DEFAULT_TIMEOUTS (lesson 006) has nothing to
    // turn off here.

    // Start: bind first so a taken port fails loudly before we serve.
    let listener = TcpListener::bind(&addr).await.expect("bind");
    println!("listening on {addr}");

    // Graceful stop: once the signal future resolves, axum stops accepting,
    // closes idle keep-alive connections and lets in-flight requests finish.
    // Lesson 007: GRACEFUL_SHUTDOWN=off serves without it, so SIGTERM takes
    // its default action (and as PID 1 in a container, nothing happens).
    let serve = axum::serve(listener, app);
    if std::env::var("GRACEFUL_SHUTDOWN").as_deref() == Ok("off") {
        serve.await.expect("server error");
    } else {
        serve.with_graceful_shutdown(shutdown_signal()).await.expect("server error");
    }
}

// A &'static str becomes a text/plain; charset=utf-8 response.
async fn root() -> &'static str {
    "Hello from Rust Axum\n"
}

// Json sets application/json and writes compact output: {"status":"ok"}.
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
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
