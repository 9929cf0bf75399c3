//! The gRPC server on the plugin's connections: HTTP/2 (hyper) over each connection the accept
//! loop hands over, and a router from each call's path to the service that answers it.
//!
//! tonic's own server (`tonic::transport::Server`) wraps every call in an axum router, a
//! grpc-timeout layer, an error-recovery layer and their futures, none of which this plugin
//! uses: four services, errors that cannot happen (every service here is infallible), and
//! deadlines that Terraform enforces itself by resetting the stream. That was about a tenth of
//! the instructions of a read (docs/performance.md, Decisions). What it did that matters is
//! kept: the same HTTP/2 settings, graceful shutdown of every connection when asked, and
//! UNIMPLEMENTED for a call no service knows.

use std::convert::Infallible;
use std::io;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::task::JoinSet;
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::NamedService;

use super::connection::PluginConnection;
use crate::logging;

/// Routes each call by its service, the first segment of its path (`/tfplugin6.Provider/ReadDataSource`).
#[derive(Clone)]
pub struct Router<Health, Controller, Stdio, Provider> {
    pub health: Health,
    pub controller: Controller,
    pub stdio: Stdio,
    pub provider: Provider,
}

/// What serves a connection's calls: infallible, with a boxed future, as tonic's generated
/// servers are (and the router over them).
pub trait Answers:
    Service<
        http::Request<Incoming>,
        Response = http::Response<Body>,
        Error = Infallible,
        Future = BoxFuture<http::Response<Body>, Infallible>,
    > + Clone
    + Send
    + 'static
{
}

impl<S> Answers for S where
    S: Service<
            http::Request<Incoming>,
            Response = http::Response<Body>,
            Error = Infallible,
            Future = BoxFuture<http::Response<Body>, Infallible>,
        > + Clone
        + Send
        + 'static
{
}

impl<Health, Controller, Stdio, Provider> Service<http::Request<Incoming>>
    for Router<Health, Controller, Stdio, Provider>
where
    Health: Answers + NamedService,
    Controller: Answers + NamedService,
    Stdio: Answers + NamedService,
    Provider: Answers + NamedService,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<Body>, Infallible>;

    fn poll_ready(&mut self, _context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // tonic's generated servers are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Incoming>) -> Self::Future {
        let service = request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|path| path.split('/').next())
            .unwrap_or_default();
        if service == Provider::NAME {
            self.provider.call(request)
        } else if service == Controller::NAME {
            self.controller.call(request)
        } else if service == Stdio::NAME {
            self.stdio.call(request)
        } else if service == Health::NAME {
            self.health.call(request)
        } else {
            // What tonic's router answers for a service it does not have.
            let unknown = tonic::Status::unimplemented("").into_http();
            Box::pin(std::future::ready(Ok(unknown)))
        }
    }
}

/// Serves `router` on every connection `incoming` yields, until `shutdown`: then it stops
/// accepting, asks each connection to finish (HTTP/2 GOAWAY; calls in flight are answered), and
/// returns when all have closed.
pub async fn serve(
    incoming: impl Stream<Item = io::Result<PluginConnection>>,
    router: impl Answers,
    shutdown: CancellationToken,
) {
    let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    // tonic's settings: its timer, and no limit of its own on concurrent calls (Terraform sends
    // at most its -parallelism at once).
    http2.timer(TokioTimer::new()).max_concurrent_streams(None);
    let mut connections = JoinSet::new();
    // Boxed, so that dropping it below really closes it: the accept loop then stops handing over.
    let mut incoming = Box::pin(incoming);
    loop {
        let connection = tokio::select! {
            () = shutdown.cancelled() => break,
            next = incoming.next() => match next {
                Some(Ok(connection)) => connection,
                Some(Err(error)) => {
                    logging::debug(
                        "a plugin connection could not be taken",
                        &[("error", error.to_string().into())],
                    );
                    continue;
                }
                None => break,
            },
        };
        let serving = http2.serve_connection(
            TokioIo::new(connection),
            TowerToHyperService::new(router.clone()),
        );
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            tokio::pin!(serving);
            let served = tokio::select! {
                served = serving.as_mut() => served,
                () = shutdown.cancelled() => {
                    serving.as_mut().graceful_shutdown();
                    serving.await
                }
            };
            if let Err(error) = served {
                logging::debug(
                    "a plugin connection ended with an error",
                    &[("error", error.to_string().into())],
                );
            }
        });
        // Connections that have ended are reaped as others arrive.
        while connections.try_join_next().is_some() {}
    }
    drop(incoming);
    while connections.join_next().await.is_some() {}
}
