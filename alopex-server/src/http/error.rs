//! API errors: JSON bodies carrying the SQLSTATE, with an HTTP status that
//! says what kind of failure it was.
//!
//! A client of a REST API branches on the status first, so the SQLSTATE's
//! class decides it: a bad statement or value is the client's fault (400),
//! a conflict with existing data or a concurrent transaction is 409 (retry
//! 40001), a missing table on a `/v1/tables/{name}` route is 404, limits
//! and shutdown are 413/503, and anything internal is 500. The body always
//! has the same shape:
//!
//! ```json
//! {"error": {"code": "23505", "message": "duplicate key value …", "detail": "Key (id)=(1) already exists.", "position": null}}
//! ```

use alopex_sql::Error;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The SQLSTATE (`42P01`, `23505`, …), or an HTTP-level code such as
    /// `unauthorized`.
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// More detail, when there is some.
    pub detail: Option<String>,
    /// 1-based character position in the SQL text, when known.
    pub position: Option<u32>,
}

/// An error answered by the API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: ErrorDetail { code: code.into(), message: message.into(), detail: None, position: None },
            },
        }
    }
}

/// The HTTP status for a SQLSTATE.
pub fn status_for(code: &str) -> StatusCode {
    match code {
        "40001" | "40P01" => StatusCode::CONFLICT,
        "54000" => StatusCode::PAYLOAD_TOO_LARGE,
        "53300" | "57P01" => StatusCode::SERVICE_UNAVAILABLE,
        "57014" => StatusCode::REQUEST_TIMEOUT,
        "0A000" => StatusCode::NOT_IMPLEMENTED,
        _ => match code.get(..2) {
            Some("23") => StatusCode::CONFLICT,
            Some("XX" | "58") => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        },
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError {
            status: status_for(e.state.code()),
            body: ErrorBody {
                error: ErrorDetail {
                    code: e.state.code().to_string(),
                    message: e.message,
                    detail: e.detail,
                    position: e.position,
                },
            },
        }
    }
}

impl From<JsonRejection> for ApiError {
    /// A body that is not the JSON the route takes: 415 when the
    /// `Content-Type` is not JSON, 413 when the body is too large, 400
    /// otherwise, always with the JSON error body (axum's own rejection is
    /// plain text, which a JSON client cannot parse).
    fn from(rejection: JsonRejection) -> ApiError {
        let (status, code) = match &rejection {
            JsonRejection::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            _ => (StatusCode::BAD_REQUEST, "invalid_json"),
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_sqlstate_class() {
        assert_eq!(status_for("42P01"), StatusCode::BAD_REQUEST);
        assert_eq!(status_for("42601"), StatusCode::BAD_REQUEST);
        assert_eq!(status_for("22012"), StatusCode::BAD_REQUEST);
        assert_eq!(status_for("23505"), StatusCode::CONFLICT);
        assert_eq!(status_for("40001"), StatusCode::CONFLICT);
        assert_eq!(status_for("XX001"), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(status_for("54000"), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
