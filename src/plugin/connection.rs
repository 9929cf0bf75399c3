//! Accepted connections on the plugin socket, plain or TLS, as one type tonic can serve, and the
//! count of those open, which tells when Terraform has gone.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio_rustls::server::TlsStream;
use tonic::transport::server::Connected;

/// One connection from Terraform: its stream, its slot among [`MAX_CONNECTIONS`], and its
/// place in the count of open connections.
pub struct PluginConnection {
    stream: Stream,
    _slot: OwnedSemaphorePermit,
    _open: OpenConnection,
}

enum Stream {
    Plain(UnixStream),
    Tls(Box<TlsStream<UnixStream>>),
}

impl PluginConnection {
    pub(crate) fn plain(
        stream: UnixStream,
        slot: OwnedSemaphorePermit,
        open: &OpenConnections,
    ) -> Self {
        Self {
            stream: Stream::Plain(stream),
            _slot: slot,
            _open: open.opened(),
        }
    }

    pub(crate) fn tls(
        stream: TlsStream<UnixStream>,
        slot: OwnedSemaphorePermit,
        open: &OpenConnections,
    ) -> Self {
        Self {
            stream: Stream::Tls(Box::new(stream)),
            _slot: slot,
            _open: open.opened(),
        }
    }
}

/// How many connections are established (past the TLS handshake) and not yet closed. The
/// server drops a connection's stream when the peer closes it, which counts it out.
#[derive(Clone)]
pub struct OpenConnections(Arc<watch::Sender<usize>>);

impl Default for OpenConnections {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl OpenConnections {
    /// Follows the count as it changes.
    pub fn watch(&self) -> watch::Receiver<usize> {
        self.0.subscribe()
    }

    fn opened(&self) -> OpenConnection {
        self.0.send_modify(|count| *count += 1);
        OpenConnection(Arc::clone(&self.0))
    }
}

/// One established connection in the count, until dropped.
struct OpenConnection(Arc<watch::Sender<usize>>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count = count.saturating_sub(1));
    }
}

impl Connected for PluginConnection {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for PluginConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PluginConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(stream) => stream.is_write_vectored(),
            Stream::Tls(stream) => stream.is_write_vectored(),
        }
    }
}
