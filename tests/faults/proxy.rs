//! A TCP proxy on loopback that breaks connections on demand.
//!
//! [`FaultProxy`] listens on `127.0.0.1:0` and forwards every connection it
//! accepts to one server, byte for byte, in both directions. A test points
//! its database URI at [`FaultProxy::addr`] and then breaks the traffic:
//!
//! - [`cut_all`](FaultProxy::cut_all) closes both sides of every live
//!   connection, as a dead network or a crashed middlebox would;
//! - [`arm_cut_after`](FaultProxy::arm_cut_after) waits for the client to
//!   send bytes containing a pattern (say `COMMIT`), forwards them to the
//!   server, and closes both sides without relaying a byte of the server's
//!   answer: the client cannot know whether its command ran.
//!
//! Connections opened later pass through untouched. Every task the proxy
//! starts is aborted when it is dropped, so none outlives the test.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

/// The longest pattern [`FaultProxy::arm_cut_after`] accepts: a pattern may
/// straddle two reads, so this many bytes of each read are kept for the next.
const MAX_PATTERN: usize = 64;

/// After an armed cut, the server's answer is read and thrown away until it
/// has been quiet this long, so that the server has run the command whose
/// answer the client never sees (the outcome is then "done", not a race).
const SERVER_QUIET: Duration = Duration::from_millis(200);

/// The longest an armed cut waits for the server to go quiet.
const SERVER_DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// A loopback TCP proxy to one server, which can cut its connections.
pub(crate) struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: JoinHandle<()>,
}

/// What the acceptor, the connections and the test share.
struct Shared {
    /// The server, as `host:port`.
    target: String,
    /// The task of every connection that may still be live, by number.
    links: Mutex<HashMap<u64, JoinHandle<()>>>,
    next_link: AtomicU64,
    /// Connections accepted so far.
    accepted: AtomicUsize,
    /// The pattern of an armed cut, lower-case; taken by the connection it cuts.
    armed: Mutex<Option<Vec<u8>>>,
    /// Connections cut by an armed pattern so far.
    pattern_cuts: AtomicUsize,
    /// While set, nothing the servers send reaches the clients, and the
    /// sockets stay open: a stalled network, not a closed one.
    stalled: AtomicBool,
}

impl Shared {
    fn links(&self) -> MutexGuard<'_, HashMap<u64, JoinHandle<()>>> {
        // A panic while holding the lock leaves the map consistent.
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn armed(&self) -> MutexGuard<'_, Option<Vec<u8>>> {
        self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the armed pattern if `window` (lower-case) contains it, ending
    /// at or after `new_from` (in the bytes just read): only one connection
    /// fires an arming, and only with bytes sent after it was armed.
    fn fire(&self, window: &[u8], new_from: usize) -> bool {
        let mut armed = self.armed();
        let hit = armed.as_deref().is_some_and(|pattern| {
            window
                .windows(pattern.len())
                .enumerate()
                .any(|(start, w)| start + pattern.len() > new_from && w == pattern)
        });
        if hit {
            *armed = None;
            self.pattern_cuts.fetch_add(1, Ordering::AcqRel);
        }
        hit
    }
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` that forwards to `target` (`host:port`).
    pub(crate) async fn start(target: impl Into<String>) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target: target.into(),
            links: Mutex::new(HashMap::new()),
            next_link: AtomicU64::new(0),
            accepted: AtomicUsize::new(0),
            armed: Mutex::new(None),
            pattern_cuts: AtomicUsize::new(0),
            stalled: AtomicBool::new(false),
        });
        let acceptor = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Ok(FaultProxy {
            addr,
            shared,
            acceptor,
        })
    }

    /// The address to connect to instead of the server.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections the proxy has accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::Acquire)
    }

    /// How many connections an armed pattern has cut so far.
    pub(crate) fn pattern_cuts(&self) -> usize {
        self.shared.pattern_cuts.load(Ordering::Acquire)
    }

    /// Closes both sides of every live connection, and returns once they
    /// are closed. Returns how many there were.
    pub(crate) async fn cut_all(&self) -> usize {
        let links: Vec<JoinHandle<()>> =
            self.shared.links().drain().map(|(_, task)| task).collect();
        let mut cut = 0;
        for task in links {
            if task.is_finished() {
                continue;
            }
            task.abort();
            // The task owns both sockets: once it has been dropped, they are closed.
            let _ = task.await;
            cut += 1;
        }
        cut
    }

    /// Arms a one-time cut: the first connection whose client sends bytes
    /// containing `pattern` (ASCII case-insensitive; at most 64 bytes) has
    /// those bytes forwarded to the server and is then closed on both
    /// sides, the server's answer read and thrown away. Replaces an earlier
    /// arming that has not fired.
    pub(crate) fn arm_cut_after(&self, pattern: &str) {
        assert!(
            !pattern.is_empty() && pattern.len() <= MAX_PATTERN,
            "a cut pattern has 1 to {MAX_PATTERN} bytes"
        );
        *self.shared.armed() = Some(pattern.to_ascii_lowercase().into_bytes());
    }

    /// Stalls (`true`) or resumes (`false`) every connection, live and new:
    /// while stalled, what the servers send is held back, without closing
    /// anything, as a frozen network or host would.
    pub(crate) fn set_stalled(&self, stalled: bool) {
        self.shared.stalled.store(stalled, Ordering::Release);
    }

    /// Whether an arming waits to fire.
    pub(crate) fn is_armed(&self) -> bool {
        self.shared.armed().is_some()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        for (_, task) in self.shared.links().drain() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("target", &self.shared.target)
            .field("accepted", &self.accepted())
            .field("armed", &self.is_armed())
            .finish()
    }
}

/// Accepts connections until aborted, each relayed by a task of its own.
async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of file descriptors, say: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::AcqRel);
        let id = shared.next_link.fetch_add(1, Ordering::Relaxed);
        let task = tokio::spawn(link(id, client, Arc::clone(&shared)));
        let mut links = shared.links();
        links.retain(|_, task| !task.is_finished());
        links.insert(id, task);
    }
}

/// Relays one connection until either side closes it, an error ends it, or
/// an armed pattern cuts it. Dropping the sockets closes them.
async fn link(id: u64, client: TcpStream, shared: Arc<Shared>) {
    if let Ok(server) = TcpStream::connect(shared.target.as_str()).await {
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        // Set just before the bytes that fire an armed cut go to the server:
        // from then on nothing the server sends reaches the client.
        let cutting = AtomicBool::new(false);
        let cut = tokio::select! {
            cut = upstream(&mut client_read, &mut server_write, &cutting, &shared) => cut,
            () = downstream(&mut server_read, &mut client_write, &cutting, &shared) => false,
        };
        if cut {
            drop(client_read);
            drop(client_write);
            drain(&mut server_read).await;
        }
    }
    shared.links().remove(&id);
}

/// Client to server. Returns `true` when an armed pattern fired (its bytes
/// forwarded), `false` when either side closed or failed.
async fn upstream(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    cutting: &AtomicBool,
    shared: &Shared,
) -> bool {
    let mut buffer = vec![0u8; 16 * 1024];
    // The last bytes of the previous read, lower-case, then the current read's.
    let mut window: Vec<u8> = Vec::with_capacity(buffer.len() + MAX_PATTERN);
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let bytes = &buffer[..n];
        let new_from = window.len();
        window.extend(bytes.iter().map(u8::to_ascii_lowercase));
        let fire = shared.fire(&window, new_from);
        let keep = window.len().min(MAX_PATTERN - 1);
        window.drain(..window.len() - keep);
        if fire {
            cutting.store(true, Ordering::Release);
            let _ = to.write_all(bytes).await;
            let _ = to.flush().await;
            return true;
        }
        if to.write_all(bytes).await.is_err() {
            return false;
        }
    }
}

/// Server to client, until either side closes or fails, or a cut begins.
async fn downstream(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    cutting: &AtomicBool,
    shared: &Shared,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while shared.stalled.load(Ordering::Acquire) {
            // Held, not dropped: relayed in order once the stall ends.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if cutting.load(Ordering::Acquire) {
            // The client must see nothing sent after the cut began. Waiting
            // here keeps this side from ending the relay before `upstream` does.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Reads what the server sends and throws it away, until it has been quiet
/// for [`SERVER_QUIET`], closes, or [`SERVER_DRAIN_LIMIT`] has passed.
async fn drain(from: &mut OwnedReadHalf) {
    let deadline = Instant::now() + SERVER_DRAIN_LIMIT;
    let mut buffer = vec![0u8; 16 * 1024];
    while Instant::now() < deadline {
        match timeout(SERVER_QUIET, from.read(&mut buffer)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    }
}
