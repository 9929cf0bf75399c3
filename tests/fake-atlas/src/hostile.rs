//! A hostile Atlas: the faults a test queues for the next authenticated requests, from Atlas's
//! real error answers to redirects, endless bodies and headers that never complete.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::responses::{FakeBody, error_body, error_response, json_response, status_code};

/// A fault the fake applies to one request that passed auth, in queue order. The token
/// endpoint never takes faults.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and Atlas error body, and `Retry-After` seconds if given.
    Status {
        status: u16,
        error_code: Option<String>,
        retry_after: Option<String>,
    },
    /// Answer 200 with this raw body and content type.
    Body { content_type: String, body: Vec<u8> },
    /// Never answer (until the fake stops).
    Hang,
    /// Close the connection without answering.
    Reset,
    /// A full Atlas error answer: its body and any extra headers (`Retry-After`,
    /// `RateLimit-Limit`, `RateLimit-Remaining`, ...).
    Atlas {
        status: u16,
        error_code: Option<String>,
        detail: String,
        parameters: Vec<serde_json::Value>,
        headers: Vec<(String, String)>,
    },
    /// Answer this 3xx status with this `Location` (Atlas's API never redirects).
    Redirect { status: u16, location: String },
    /// Answer 200 `application/json` with a body that never ends and has no `Content-Length`.
    EndlessBody,
    /// Send the first bytes of the status line, then nothing more, ever: the response's headers
    /// never complete.
    SlowHeaders,
}

impl Fault {
    /// Atlas's token-bucket 429: "Please retry after N seconds", no `Retry-After`.
    pub fn rate_limited_token_bucket(seconds: u64) -> Fault {
        Fault::Atlas {
            status: 429,
            error_code: Some("RATE_LIMITED_TOKEN_BUCKET".to_owned()),
            detail: format!("Please retry after {seconds} seconds"),
            parameters: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Atlas's window 429 (its error-code reference: "Resource %s is limited to %s requests
    /// every %s minutes."), with `[resource, requests, minutes]` as parameters.
    pub fn rate_limited(resource: &str, requests: u32, minutes: u32) -> Fault {
        Fault::Atlas {
            status: 429,
            error_code: Some("RATE_LIMITED".to_owned()),
            detail: format!(
                "Resource {resource} is limited to {requests} requests every {minutes} minutes."
            ),
            parameters: vec![resource.into(), requests.into(), minutes.into()],
            headers: Vec::new(),
        }
    }

    /// Atlas's 401 body (no errorCode) without a new challenge: what a request that carried
    /// valid-looking credentials gets when Atlas refuses them after the fact, such as a bearer
    /// token revoked on the server. A digest client has nothing to answer, so it must report
    /// the refusal instead of retrying.
    pub fn unauthorized_atlas() -> Fault {
        Fault::Atlas {
            status: 401,
            error_code: None,
            detail: "You are not authorized for this resource.".to_owned(),
            parameters: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// 401 NOT_IN_GROUP: the key has no access to the project, or the project does not exist.
    pub fn not_in_group() -> Fault {
        Fault::Atlas {
            status: 401,
            error_code: Some("NOT_IN_GROUP".to_owned()),
            detail: "Current user is not in the group, or the group does not exist.".to_owned(),
            parameters: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// 403 ORG_REQUIRES_ACCESS_LIST with the caller's IP in the parameters.
    pub fn org_requires_access_list(ip: &str) -> Fault {
        Fault::Atlas {
            status: 403,
            error_code: Some("ORG_REQUIRES_ACCESS_LIST".to_owned()),
            // The IP is only in the parameters, so a client must read them to name it.
            detail: "This organization requires access through an access list of ip ranges."
                .to_owned(),
            parameters: vec![ip.into()],
            headers: Vec::new(),
        }
    }
}

/// What the server does with one request.
pub(crate) enum Outcome {
    Answer(Response<FakeBody>),
    /// Answer once this much time has passed.
    AnswerAfter(std::time::Duration, Response<FakeBody>),
    Hang,
    Reset,
    /// Answer, but let only the first bytes of the status line reach the client.
    StallHeaders,
}

/// The outcome a fault calls for.
pub(crate) fn apply(fault: Fault) -> Outcome {
    match fault {
        Fault::Hang => Outcome::Hang,
        Fault::Reset => Outcome::Reset,
        Fault::SlowHeaders => Outcome::StallHeaders,
        Fault::Status {
            status,
            error_code,
            retry_after,
        } => {
            let mut response = error_response(status, error_code.as_deref(), "Injected fault.");
            if let Some(value) =
                retry_after.and_then(|seconds| HeaderValue::from_str(&seconds).ok())
            {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            Outcome::Answer(response)
        }
        Fault::Body { content_type, body } => {
            let mut response = Response::new(FakeBody::from_bytes(body));
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(CONTENT_TYPE, value);
            }
            Outcome::Answer(response)
        }
        Fault::Atlas {
            status,
            error_code,
            detail,
            parameters,
            headers,
        } => {
            let body = error_body(status, error_code.as_deref(), &detail, parameters);
            let mut response = json_response(status, body);
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().append(name, value);
                }
            }
            Outcome::Answer(response)
        }
        Fault::Redirect { status, location } => {
            let mut response = Response::new(FakeBody::empty());
            *response.status_mut() = status_code(status);
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(LOCATION, value);
            }
            Outcome::Answer(response)
        }
        Fault::EndlessBody => {
            let mut response = Response::new(FakeBody::Endless);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Outcome::Answer(response)
        }
    }
}

/// How much of the status line a stalled connection sends: enough that the client has started
/// reading a response, not enough to finish its first line.
const STALLED_PREFIX_LENGTH: usize = 10;

/// A connection that can be told to stall its writes: after the flag is set it passes on the
/// first few bytes of the next write, then never completes another one. This is how
/// [`Fault::SlowHeaders`] stops a response in the middle of its status line while hyper still
/// serves everything else.
pub(crate) struct StallableIo<T> {
    inner: T,
    stall: Arc<AtomicBool>,
    prefix_sent: bool,
}

impl<T> StallableIo<T> {
    pub(crate) fn new(inner: T, stall: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            stall,
            prefix_sent: false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallableIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(context, buffer)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallableIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.stall.load(Ordering::SeqCst) {
            return Pin::new(&mut this.inner).poll_write(context, buffer);
        }
        if this.prefix_sent {
            // Never woken: the task ends when the fake stops or the client goes away.
            return Poll::Pending;
        }
        let length = buffer.len().min(STALLED_PREFIX_LENGTH);
        match Pin::new(&mut this.inner).poll_write(context, &buffer[..length]) {
            Poll::Ready(Ok(written)) => {
                this.prefix_sent = true;
                // Make sure the prefix leaves the machine, then stall.
                let _ = Pin::new(&mut this.inner).poll_flush(context);
                Poll::Ready(Ok(written))
            }
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix_sent {
            return Poll::Pending;
        }
        Pin::new(&mut this.inner).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(context)
    }
}
