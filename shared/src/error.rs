//! The one error type of the API and its one mapping to HTTP: `{"error": {"code", "message"}}` with the status of API.md.

use crate::domain::{ParseError, PartCheck, TransitionError};
use crate::ports::StoreError;
use http::StatusCode;
use serde_json::json;

/// Everything a request can end in other than success. The message of a 4xx is shown to the caller and says what to
/// fix; a 500 shows a fixed sentence and sends its cause chain to the log.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Internal(_) => "internal",
        }
    }

    /// What the caller is told.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "Something went wrong on our side; try again in a moment.".to_owned(),
            other => other.to_string(),
        }
    }

    /// The body of API.md's error shape.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code(), "message": self.public_message()}})
    }

    /// Logs what the caller is not told: the whole cause chain of a 500, one line for a 4xx.
    pub fn log(&self) {
        match self {
            AppError::Internal(e) => tracing::error!(error = format!("{e:#}"), "request failed"),
            other => tracing::info!(status = other.status().as_u16(), code = other.code(), message = %other, "request refused"),
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<ParseError> for AppError {
    fn from(e: ParseError) -> Self {
        AppError::BadRequest(e.0)
    }
}

impl From<TransitionError> for AppError {
    fn from(e: TransitionError) -> Self {
        AppError::Conflict(format!("{e}"))
    }
}

impl From<PartCheck> for AppError {
    fn from(e: PartCheck) -> Self {
        match e {
            PartCheck::TooManyBytes { .. } => AppError::TooLarge(e.to_string()),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// A backend failure that reached a handler without being given a meaning there is ours, not the caller's.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("backend call failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let e = AppError::internal(anyhow::anyhow!("DynamoDB table framelift-videos: AccessDeniedException"));
        let body = e.body().to_string();
        assert!(!body.contains("DynamoDB") && !body.contains("framelift-videos"), "{body}");
        assert_eq!(e.status(), 500);
        let from_store: AppError = StoreError::unavailable(std::io::Error::other("bucket secret-name")).into();
        assert!(!from_store.body().to_string().contains("secret-name"));
    }

    #[test]
    fn every_variant_has_a_snake_case_code_and_its_status() {
        let all = [
            (AppError::BadRequest("m".into()), 400),
            (AppError::Unauthorized("m".into()), 401),
            (AppError::Forbidden("m".into()), 403),
            (AppError::NotFound("m".into()), 404),
            (AppError::Conflict("m".into()), 409),
            (AppError::TooLarge("m".into()), 413),
            (AppError::UnsupportedMediaType("m".into()), 415),
            (AppError::MethodNotAllowed("m".into()), 405),
        ];
        for (e, status) in all {
            assert_eq!(e.status().as_u16(), status);
            assert!(e.code().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(e.body()["error"]["message"], "m");
        }
    }

    #[test]
    fn too_many_bytes_is_a_413_and_other_part_problems_are_400s() {
        assert_eq!(AppError::from(PartCheck::TooManyBytes { held: 2, declared: 1 }).status(), 413);
        assert_eq!(AppError::from(PartCheck::Missing(vec![])).status(), 400);
    }
}
