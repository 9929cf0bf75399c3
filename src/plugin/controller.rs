//! go-plugin's controller (Terraform's "shut down now") and stdio services.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::logging;
use crate::proto::go_plugin::grpc_controller_server::GrpcController;
use crate::proto::go_plugin::grpc_stdio_server::GrpcStdio;
use crate::proto::go_plugin::{Empty, StdioData};

/// Answers Shutdown by asking the server to stop; the process exits once the answer is sent.
pub struct Controller {
    pub shutdown: CancellationToken,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        logging::debug("Terraform asked the plugin to shut down", &[]);
        self.shutdown.cancel();
        Ok(Response::new(Empty {}))
    }
}

/// Nothing is ever written to our stdout after the handshake, and logs go straight to stderr,
/// so the stdio stream carries nothing; it stays open until the plugin stops, as go-plugin's own
/// server keeps it (grpc_stdio.go). An open stream also keeps grpc-go's client from closing an
/// idle connection (channel idleness, 30 minutes by default since grpc-go PR 6585), which we
/// would take for Terraform leaving.
pub struct Stdio {
    pub shutdown: CancellationToken,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream =
        Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send + 'static>>;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        let stopped = self.shutdown.clone().cancelled_owned();
        Ok(Response::new(Box::pin(
            futures_util::stream::once(stopped).filter_map(|()| std::future::ready(None)),
        )))
    }
}
