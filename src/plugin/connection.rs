//! Accepted connections on the plugin socket, plain or TLS, as one type tonic can serve.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;

use crate::logging;

/// One connection from Terraform.
pub enum PluginConnection {
    Plain(UnixStream),
    Tls(Box<TlsStream<UnixStream>>),
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
        match self.get_mut() {
            PluginConnection::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            PluginConnection::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PluginConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginConnection::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            PluginConnection::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConnection::Plain(stream) => Pin::new(stream).poll_flush(cx),
            PluginConnection::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConnection::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            PluginConnection::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginConnection::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            PluginConnection::Tls(stream) => {
                Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs)
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            PluginConnection::Plain(stream) => stream.is_write_vectored(),
            PluginConnection::Tls(stream) => stream.is_write_vectored(),
        }
    }
}

/// Accepts connections until `shutdown`, finishing TLS handshakes concurrently so that one slow
/// or hostile peer cannot hold up the others. A peer that fails the handshake (no certificate,
/// another certificate) is logged and dropped.
pub fn accept_connections(
    listener: UnixListener,
    acceptor: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) -> ReceiverStream<io::Result<PluginConnection>> {
    let (sender, receiver) = mpsc::channel(16);
    let acceptor = acceptor.map(Arc::new);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    logging::warn(
                        "accepting a plugin connection failed",
                        &[("error", error.to_string().into())],
                    );
                    continue;
                }
            };
            match &acceptor {
                None => {
                    if sender
                        .send(Ok(PluginConnection::Plain(stream)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Some(acceptor) => {
                    let acceptor = Arc::clone(acceptor);
                    let sender = sender.clone();
                    tokio::spawn(async move {
                        match acceptor.accept(stream).await {
                            Ok(tls) => {
                                let _ = sender.send(Ok(PluginConnection::Tls(Box::new(tls)))).await;
                            }
                            Err(error) => logging::warn(
                                "refused a plugin connection: TLS handshake failed",
                                &[("error", error.to_string().into())],
                            ),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(receiver)
}
