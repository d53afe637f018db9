//! Lesson 010's switch: PROFILE=on adds the pprof crate's CPU profiler at
//! GET /debug/pprof/profile?seconds=N. It runs inside the process, with no
//! privileges: the kernel sends SIGPROF 100 times a second of CPU time
//! (setitimer), and the signal handler records the interrupted thread's
//! stack. The answer is one folded stack per line, "thread;root;...;leaf
//! count", which flamegraph.pl, inferno and speedscope read. Off (the route
//! is absent) as shipped: a profile shows the server's code paths to anyone
//! who asks. (perf would see the kernel too, but needs privileges a hardened
//! container does not have.)

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{routing::get, Router};

const FREQUENCY_HZ: i32 = 100;
const MAX_SECONDS: u64 = 30;

/// The profiler's route, for Router::merge; no route unless PROFILE=on.
pub fn routes() -> Router {
    if std::env::var("PROFILE").as_deref() != Ok("on") {
        return Router::new();
    }
    println!("PROFILE=on: CPU profile at /debug/pprof/profile?seconds=N (100 Hz)");
    Router::new().route("/debug/pprof/profile", get(profile))
}

async fn profile(Query(query): Query<HashMap<String, String>>) -> Response {
    let seconds = query.get("seconds").map_or(Ok(5), |s| s.parse::<u64>());
    let Ok(seconds @ 1..=MAX_SECONDS) = seconds else {
        let message = format!("seconds must be an integer from 1 to {MAX_SECONDS}");
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    // The wait runs on a blocking-pool thread: it sleeps off the CPU, so it
    // takes no samples, and no worker thread is held.
    let taken = tokio::task::spawn_blocking(move || {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY_HZ)
            .build()?;
        std::thread::sleep(Duration::from_secs(seconds));
        guard.report().build()
    })
    .await;
    match taken {
        Ok(Ok(report)) => folded(&report).into_response(),
        Ok(Err(error)) => (StatusCode::CONFLICT, error.to_string()).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// pprof-rs keeps each stack leaf first, and in each frame the functions
/// inlined there innermost first: reverse both to write the root first.
fn folded(report: &pprof::Report) -> String {
    let mut out = String::new();
    for (frames, count) in &report.data {
        let names: Vec<String> = frames
            .frames
            .iter()
            .rev()
            .flat_map(|inlined| inlined.iter().rev().map(|symbol| symbol.name()))
            .collect();
        let _ = writeln!(out, "{};{} {count}", frames.thread_name, names.join(";"));
    }
    out
}
