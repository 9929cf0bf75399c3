//! The plugin's Unix socket file: created private under a fresh name, and removed whenever the
//! process ends, including by a panic that ends it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use tokio::net::UnixListener;

use super::PluginError;

/// The socket files this process has open; the panic hook removes them. Usually one; tests
/// serve several plugins in one process.
static OPEN_SOCKETS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The socket file; removed when dropped.
pub struct SocketFile(PathBuf);

impl SocketFile {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Ok(mut open) = OPEN_SOCKETS.lock() {
            open.retain(|path| path != &self.0);
        }
    }
}

/// Binds a new socket only its owner may use, under a name no other process holds.
pub fn bind_socket(directory: &Path) -> Result<(UnixListener, SocketFile), PluginError> {
    let process = std::process::id();
    let mut attempt = 0u32;
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or_default();
        let path = directory.join(format!("plugin-atlas-{process}-{nanos:x}-{attempt}"));
        match UnixListener::bind(&path) {
            Ok(listener) => {
                if let Ok(mut open) = OPEN_SOCKETS.lock() {
                    open.push(path.clone());
                }
                let socket = SocketFile(path);
                std::fs::set_permissions(&socket.0, std::fs::Permissions::from_mode(0o600))
                    .map_err(|source| PluginError::Socket {
                        path: socket.0.clone(),
                        source,
                    })?;
                return Ok((listener, socket));
            }
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse && attempt < 8 => {
                attempt += 1
            }
            Err(source) => return Err(PluginError::Socket { path, source }),
        }
    }
}

/// Installs (once) a panic hook that removes our socket files when a panic ends the process
/// without unwinding.
///
/// A panic that unwinds is caught (the RPC panic guard, tokio's task boundary, or the entry
/// point in `main.rs`) and runs every destructor on its way, the socket file's owner among
/// them, which removes the file; the hook must leave the socket alone then, since after a
/// caught panic the process keeps serving on it. Only in a build with `panic = "abort"`, where
/// no destructor runs, is the file removed here. The previous hook (Rust's message on stderr)
/// still runs.
pub fn remove_sockets_on_fatal_panic() {
    // With unwinding, the owners' destructors remove the files: no hook to install at start.
    if !cfg!(panic = "abort") {
        return;
    }
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            remove_open_sockets();
            previous(info);
        }));
    });
}

fn remove_open_sockets() {
    // try_lock: a panic raised while the list is locked must not deadlock in its own hook.
    if let Ok(open) = OPEN_SOCKETS.try_lock() {
        for path in open.iter() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SECURITY.md: stale socket files of other processes are never touched, even ones named
    /// like ours in the same directory.
    #[test]
    fn another_process_socket_files_survive_our_bind_and_removal() {
        let directory = tempfile::tempdir().unwrap();
        let live = directory.path().join("plugin-atlas-1-0-0");
        let _live_listener = std::os::unix::net::UnixListener::bind(&live).unwrap();
        let stale = directory.path().join("plugin-atlas-2-0-0");
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (listener, socket) = runtime
            .block_on(async { bind_socket(directory.path()) })
            .unwrap();
        let ours = socket.path().to_path_buf();
        assert!(ours != live && ours != stale);
        drop(listener);
        drop(socket);
        assert!(!ours.exists(), "our socket file outlived its owner");
        assert!(live.exists(), "another process's live socket was removed");
        assert!(stale.exists(), "another process's stale socket was removed");
    }

    #[test]
    fn an_unwinding_panic_leaves_the_socket_to_its_owner() {
        let directory = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        remove_sockets_on_fatal_panic();

        // A panic caught while the socket serves (an RPC's, on the thread that runs the
        // server): the hook leaves the socket, which keeps serving.
        let (_listener, socket) = runtime
            .block_on(async { bind_socket(directory.path()) })
            .unwrap();
        let caught = std::panic::catch_unwind(|| panic!("a bug in one RPC"));
        assert!(caught.is_err());
        assert!(socket.path().exists(), "a caught panic removed the socket");

        // A panic that unwinds out of the code that owns the socket: the owner's drop on the
        // way removes the file.
        let path = socket.path().to_path_buf();
        let fatal = std::thread::Builder::new()
            .name("main".into())
            .spawn(move || {
                let _owned = socket;
                panic!("a bug on the main thread")
            })
            .unwrap()
            .join();
        assert!(fatal.is_err());
        assert!(
            !path.exists(),
            "the socket outlived the panic that unwound its owner"
        );
    }
}
