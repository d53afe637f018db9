//! Lesson 008: LOAD_SHEDDING=on caps the requests inside handlers at once;
//! one more gets a fast 503 instead of a place in a queue it may never leave.

use axum::error_handling::HandleErrorLayer;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::{BoxError, Json, Router};
use serde_json::json;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;

/// A handful is enough to keep one core busy.
const MAX_IN_FLIGHT: usize = 8;

/// Wraps every route. The layers run top to bottom: LoadShed asks the limit
/// whether a slot is free and, when none is, fails at once instead of
/// waiting; HandleErrorLayer turns that failure into the 503. The Global
/// limit shares one count across all routes (a plain ConcurrencyLimitLayer
/// would count each route apart).
pub fn limit(app: Router) -> Router {
    app.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: BoxError| async {
                let body = Json(json!({ "error": "overloaded, try again later" }));
                (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], body)
                    .into_response()
            }))
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(MAX_IN_FLIGHT)),
    )
}
