//! A forward HTTP proxy on 127.0.0.1 that sends every request to one fake Atlas, whatever host
//! the request names, and records the request lines it saw.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy. Stops when dropped.
pub struct FakeProxy {
    address: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeProxy {
    /// Starts a proxy that forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, Arc::clone(&recorded)));
            }
        });
        FakeProxy {
            address,
            seen,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`, for `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The first line of every request, such as `GET http://atlas.example/api/... HTTP/1.1`.
    pub fn request_lines(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the first request's head to record it, then relays bytes both ways. Request lines
/// of later requests on the same connection are recorded as they pass. A `CONNECT` (what a
/// client sends through `HTTPS_PROXY`) is answered 200 here and the tunnel then carries the
/// client's TLS to the fake Atlas.
async fn relay(mut client: TcpStream, upstream: SocketAddr, seen: Arc<Mutex<Vec<String>>>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Peek at the first line only: a CONNECT head is consumed here, anything else is forwarded.
    while !head.ends_with(b"\r\n") && head.len() < 8 * 1024 {
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    if head.starts_with(b"CONNECT ") {
        seen.lock()
            .unwrap()
            .push(String::from_utf8_lossy(&head).trim_end().to_owned());
        while !head.ends_with(b"\r\n\r\n") && head.len() < 8 * 1024 {
            match client.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
    } else {
        let line = String::from_utf8_lossy(&head);
        if line.starts_with("GET ") {
            seen.lock().unwrap().push(line.trim_end().to_owned());
        }
        if server.write_all(&head).await.is_err() {
            return;
        }
    }
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upload = async {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            let text = String::from_utf8_lossy(&buffer[..read]);
            for line in text.lines() {
                if line.starts_with("GET ") || line.starts_with("CONNECT ") {
                    seen.lock().unwrap().push(line.to_owned());
                }
            }
            if server_write.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let download = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upload, download);
}
