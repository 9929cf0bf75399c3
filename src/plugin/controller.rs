//! go-plugin's controller (Terraform's "shut down now") and stdio services.

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
/// so the stdio stream ends at once with nothing in it.
pub struct Stdio;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = tokio_stream::Empty<Result<StdioData, Status>>;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(tokio_stream::empty()))
    }
}
