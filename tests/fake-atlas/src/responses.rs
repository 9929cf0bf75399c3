//! The answers the fake sends: a body that is either complete or endless, and Atlas's error body.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// The fake's response body. `Endless` never ends and has no length, so hyper sends it chunked:
/// a client that reads bodies without a bound never finishes.
pub(crate) enum FakeBody {
    Complete(Option<Bytes>),
    Endless,
}

/// What one poll of an endless body yields: valid JSON text, so that a client must bound the
/// size to stop, not wait for a syntax error.
const ENDLESS_CHUNK: &[u8] = &[b' '; 16 * 1024];

impl FakeBody {
    pub(crate) fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        FakeBody::Complete(Some(bytes.into()))
    }

    pub(crate) fn empty() -> Self {
        FakeBody::Complete(None)
    }
}

impl Body for FakeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            FakeBody::Complete(bytes) => {
                Poll::Ready(bytes.take().map(|data| Ok(Frame::data(data))))
            }
            FakeBody::Endless => {
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(ENDLESS_CHUNK)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, FakeBody::Complete(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            FakeBody::Complete(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            FakeBody::Complete(None) => SizeHint::with_exact(0),
            FakeBody::Endless => SizeHint::default(),
        }
    }
}

/// Atlas's error body (the `ApiError` schema of Atlas's OpenAPI specification, mongodb/openapi
/// `openapi/v2/openapi-2023-01-01.yaml`: `detail`, `error`, `errorCode`, `parameters`, `reason`).
/// Atlas leaves `errorCode` out of some answers, such as its 401.
pub(crate) fn error_body(
    status: u16,
    error_code: Option<&str>,
    detail: &str,
    parameters: Vec<serde_json::Value>,
) -> String {
    let mut body = serde_json::json!({
        "detail": detail,
        "error": status,
        "parameters": parameters,
        "reason": reason(status),
    });
    if let Some(code) = error_code {
        body["errorCode"] = serde_json::Value::from(code);
    }
    body.to_string()
}

/// An Atlas error answer with no parameters, as `application/json`.
pub(crate) fn error_response(
    status: u16,
    error_code: Option<&str>,
    detail: &str,
) -> Response<FakeBody> {
    json_response(status, error_body(status, error_code, detail, Vec::new()))
}

/// A JSON answer as `application/json`, the media type of the v1.0 routes.
pub(crate) fn json_response(status: u16, body: String) -> Response<FakeBody> {
    typed_response(status, "application/json", body)
}

/// An answer with this status, content type and body.
pub(crate) fn typed_response(status: u16, content_type: &str, body: String) -> Response<FakeBody> {
    let mut response = Response::new(FakeBody::from_bytes(body));
    *response.status_mut() = status_code(status);
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/json"));
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn reason(status: u16) -> &'static str {
    status_code(status).canonical_reason().unwrap_or("Error")
}
