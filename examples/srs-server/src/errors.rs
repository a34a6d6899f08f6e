//! The crate's typed errors as HTTP answers: a status, the error's text as the body, and a
//! machine-readable kind in the `x-srs-error` header.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sesphr::srs::{Refusal, StoreError};
use sesphr::Error;

/// Why a request failed, as the server answers it.
#[derive(Debug)]
pub enum ApiError {
    /// The library refused or could not decode the request.
    Srs(Error),
    /// A request the HTTP layer rejects (bad path, wrong hash, missing blob…).
    Http(StatusCode, &'static str, String),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Srs(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Srs(Error::Store(e))
    }
}

/// The status and kind of a library error.
pub fn classify(e: &Error) -> (StatusCode, &'static str) {
    match e {
        Error::BadSignature => (StatusCode::UNAUTHORIZED, "bad-signature"),
        Error::NotAuthorized {
            refusal: Refusal::UnknownPrincipal | Refusal::WrongSigner,
            ..
        } => (StatusCode::UNAUTHORIZED, "unauthenticated"),
        Error::NotAuthorized { .. } => (StatusCode::FORBIDDEN, "refused"),
        Error::Store(StoreError::Conflict) => (StatusCode::CONFLICT, "store-conflict"),
        Error::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store-unavailable"),
        Error::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found"),
        Error::AlreadyExists { .. } => (StatusCode::CONFLICT, "already-exists"),
        Error::TooLong { .. } | Error::LimitExceeded { .. } => {
            (StatusCode::PAYLOAD_TOO_LARGE, "too-large")
        }
        Error::LogFork(_) => (StatusCode::CONFLICT, "log-fork"),
        Error::Log(_)
        | Error::AclRejected { .. }
        | Error::IllegalTransition { .. }
        | Error::InvalidChange { .. }
        | Error::ClockWentBackwards { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "rejected"),
        _ => (StatusCode::BAD_REQUEST, "invalid"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, text) = match self {
            ApiError::Srs(e) => {
                let (s, k) = classify(&e);
                (s, k, e.to_string())
            }
            ApiError::Http(s, k, t) => (s, k, t),
        };
        let mut r = (status, text).into_response();
        r.headers_mut()
            .insert("x-srs-error", HeaderValue::from_static(kind));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(refusal: Refusal) -> Error {
        Error::NotAuthorized {
            refusal,
            section: None,
            epoch: None,
            principal: None,
        }
    }

    #[test]
    fn library_errors_get_their_statuses() {
        let cases = [
            (
                Error::InvalidEncoding {
                    what: "x",
                    field: None,
                },
                400,
            ),
            (Error::BadSignature, 401),
            (refused(Refusal::UnknownPrincipal), 401),
            (refused(Refusal::Inactive), 403),
            (Error::Log(sesphr::log::LogProblem::WrongPosition), 422),
            (Error::Store(StoreError::Conflict), 409),
            (Error::AlreadyExists { what: "x" }, 409),
            (Error::NotFound { what: "x" }, 404),
            (Error::TooLong { what: "x" }, 413),
            (Error::Store(StoreError::Unavailable), 503),
        ];
        for (e, status) in cases {
            let r = ApiError::from(e.clone()).into_response();
            assert_eq!(r.status().as_u16(), status, "{e}");
            assert!(r.headers().contains_key("x-srs-error"));
        }
    }
}
