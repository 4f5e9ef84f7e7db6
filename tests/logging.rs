//! What aludel writes to `tracing`, read back from a subscriber that
//! formats every event at TRACE into a buffer: a password given in the URI
//! never appears there, even on failing connections; a commit of several
//! new rows of one table is sent as one multi-row INSERT where the database
//! returns keys from it; and MySQL's TLS rule (loopback plaintext, other
//! hosts warned about a server without TLS) holds and is logged as
//! documented.
//!
//! The subscriber is global to this binary, so the tests take turns
//! ([`SERIAL`]) and each reads only what was logged during its own turn.

#[path = "common/mod.rs"]
#[allow(dead_code, unused_macros, unused_imports)]
mod common;

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use aludel::prelude::*;

use common::{BoxError, TestDb, TestResult, backend_tests};

/// The password every test puts in its URIs, and its percent-encoded form.
const SECRET: &str = "Sup3r@Secret-pw";
const SECRET_ENCODED: &str = "Sup3r%40Secret-pw";

#[derive(Model, Debug, Clone, PartialEq)]
struct LogRow {
    #[aludel(primary_key)]
    id: i64,
    name: String,
}

impl LogRow {
    fn new(name: impl Into<String>) -> LogRow {
        LogRow {
            id: 0,
            name: name.into(),
        }
    }
}

/// Tests take turns: the subscriber sees every test's events.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Everything formatted since the last [`Log::take`].
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn take(&self) -> String {
        let mut buffer = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&std::mem::take(&mut *buffer)).into_owned()
    }
}

impl io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(|p| p.into_inner());
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The buffer every event of this binary is formatted into, at TRACE.
fn log() -> Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            // Plain text: the checks read `field=value`, not escape codes.
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // Only this function installs one, once.
        let _ = tracing::subscriber::set_global_default(subscriber);
        log
    })
    .clone()
}

/// Takes this test's turn and empties the buffer of what came before.
async fn turn() -> (tokio::sync::MutexGuard<'static, ()>, Log) {
    let guard = SERIAL.lock().await;
    let log = log();
    log.take();
    (guard, log)
}

/// `uri` with `user:SECRET` as its credentials.
fn with_credentials(uri: &str, user: &str) -> Result<String, BoxError> {
    let (scheme, rest) = uri.split_once("://").ok_or("not a URL")?;
    let rest = match rest.split_once('@') {
        Some((_, host)) if !host.contains('@') => host,
        _ => rest,
    };
    Ok(format!("{scheme}://{user}:{SECRET_ENCODED}@{rest}"))
}

/// `uri` with its `host:port` replaced by `address`.
fn with_address(uri: &str, address: &str) -> Result<String, BoxError> {
    let (scheme, rest) = uri.split_once("://").ok_or("not a URL")?;
    let (credentials, rest) = match rest.split_once('@') {
        Some((credentials, rest)) => (format!("{credentials}@"), rest),
        None => (String::new(), rest),
    };
    let tail = &rest[rest.find(['/', '?']).unwrap_or(rest.len())..];
    Ok(format!("{scheme}://{credentials}{address}{tail}"))
}

fn with_option(uri: &str, option: &str) -> String {
    let joiner = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{joiner}{option}")
}

fn assert_no_secret(log: &str) {
    for form in [SECRET, SECRET_ENCODED, "Sup3r"] {
        assert!(
            !log.contains(form),
            "the password shows in the log:\n{}",
            log.lines()
                .filter(|l| l.contains(form))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

backend_tests!([postgres, mysql] a_password_never_appears_in_logs);
backend_tests!(new_rows_of_a_table_are_one_multi_row_insert);

/// A login with a password for the test's scratch space: on PostgreSQL the
/// shared server trusts loopback and ignores the password it is given; on
/// MySQL a user of the test's own, dropped by [`PasswordUser::drop_user`].
struct PasswordUser {
    uri: String,
    #[cfg(feature = "mysql")]
    mysql: Option<(String, String)>,
}

impl PasswordUser {
    async fn create(t: &TestDb) -> Result<PasswordUser, BoxError> {
        let scratch = t.server().ok_or("not a server backend")?;
        match t.backend() {
            #[cfg(feature = "mysql")]
            common::Backend::Mysql => {
                use mysql_async::prelude::Queryable as _;
                let user = format!("aludel_pw_{}", std::process::id());
                let mut admin =
                    mysql_async::Conn::new(mysql_async::Opts::from_url(scratch.admin_url())?)
                        .await?;
                for host in ["%", "localhost"] {
                    admin
                        // Account statements take no parameters; the
                        // password is this file's constant.
                        .query_drop(format!(
                            "CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '{SECRET}'"
                        ))
                        .await?;
                    admin
                        .query_drop(format!(
                            "GRANT ALL ON `{}`.* TO '{user}'@'{host}'",
                            scratch.name()
                        ))
                        .await?;
                }
                admin.disconnect().await?;
                Ok(PasswordUser {
                    uri: with_credentials(scratch.uri(), &user)?,
                    mysql: Some((scratch.admin_url().to_owned(), user)),
                })
            }
            _ => {
                let user = scratch
                    .uri()
                    .split_once("://")
                    .and_then(|(_, rest)| rest.split_once('@'))
                    .map_or("postgres", |(user, _)| user)
                    .to_owned();
                Ok(PasswordUser {
                    uri: with_credentials(scratch.uri(), &user)?,
                    #[cfg(feature = "mysql")]
                    mysql: None,
                })
            }
        }
    }

    async fn drop_user(self) -> TestResult {
        #[cfg(feature = "mysql")]
        if let Some((admin_url, user)) = self.mysql {
            use mysql_async::prelude::Queryable as _;
            let mut admin =
                mysql_async::Conn::new(mysql_async::Opts::from_url(&admin_url)?).await?;
            for host in ["%", "localhost"] {
                admin
                    .query_drop(format!("DROP USER IF EXISTS '{user}'@'{host}'"))
                    .await?;
            }
            admin.disconnect().await?;
        }
        Ok(())
    }
}

async fn a_password_never_appears_in_logs(t: TestDb) -> TestResult {
    let (_turn, log) = turn().await;
    let login = PasswordUser::create(&t).await?;
    let outcome = log_with_password(&login.uri).await;
    login.drop_user().await?;
    outcome?;
    let logged = log.take();
    assert_no_secret(&logged);
    // Something was logged, or the check above proves nothing.
    assert!(
        logged.contains("aludel::sql"),
        "no statement was logged:\n{logged}"
    );
    Ok(())
}

/// Works through a database whose URI carries the password: a commit, a
/// failing statement, a failing connection to a port nobody listens on, and
/// (on MySQL) a refused login. The Debug and Display of everything on the
/// way are logged too, as an application would.
async fn log_with_password(uri: &str) -> TestResult {
    let db = Database::builder().uri(uri).build().await?;
    tracing::info!(target: "app", "database: {db:?}");
    db.create_all().await?;
    let mut s = db.session();
    s.add_all((0..3).map(|i| LogRow::new(format!("row{i}"))));
    s.commit().await?;
    let failed = match s.execute_text(text("SELECT * FROM no_such_table")).await {
        Ok(rows) => rows.all().await.map(drop),
        Err(e) => Err(e),
    }
    .err()
    .ok_or("a query of a missing table succeeded")?;
    tracing::error!(target: "app", "query failed: {failed} / {failed:?}");
    s.rollback().await?;
    drop(s);
    db.close();
    drop(db);

    let unreachable = with_option(&with_address(uri, "127.0.0.1:1")?, "connect_timeout=2");
    let refused = Database::connect(&unreachable)
        .await
        .err()
        .ok_or("connected to port 1")?;
    tracing::error!(target: "app", "connect failed: {refused} / {refused:?}");
    assert!(
        matches!(refused, Error::Connect { .. }),
        "port 1: {refused:?}"
    );
    if uri.starts_with("mysql") {
        let wrong_user = with_credentials(uri, "aludel_nobody")?;
        let denied = Database::connect(&wrong_user)
            .await
            .err()
            .ok_or("a made-up user logged in")?;
        tracing::error!(target: "app", "login refused: {denied} / {denied:?}");
    }
    Ok(())
}

/// The `aludel::sql` events of INSERTs into `log_row`.
fn inserts(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("aludel::sql") && line.contains("sql=\"INSERT"))
        .filter(|line| line.contains("log_row"))
        .collect()
}

async fn new_rows_of_a_table_are_one_multi_row_insert(t: TestDb) -> TestResult {
    const ROWS: usize = 5;
    let (_turn, log) = turn().await;
    let db = t.database().await?;
    log.take();
    let mut s = db.session();
    let added = s.add_all((0..ROWS).map(|i| LogRow::new(format!("row{i}"))));
    s.commit().await?;
    let logged = log.take();
    let inserts = inserts(&logged);
    if db.dialect().supports_returning() {
        assert_eq!(
            inserts.len(),
            1,
            "{ROWS} rows should be one INSERT ... RETURNING:\n{}",
            inserts.join("\n")
        );
        let one = inserts[0];
        assert!(
            one.contains(&format!("params={ROWS}")) && one.contains(&format!("rows={ROWS}")),
            "the INSERT did not carry {ROWS} rows: {one}"
        );
    } else {
        // MySQL without RETURNING: one INSERT per row, each key from its reply.
        assert_eq!(inserts.len(), ROWS, "{}", inserts.join("\n"));
    }
    let keys: Vec<i64> = added.iter().filter_map(|a| a.key()).collect();
    assert_eq!(keys.len(), ROWS, "keys missing after commit: {keys:?}");
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    assert_eq!(s.count(&select::<LogRow>()).await?, ROWS as u64);
    Ok(())
}

/// MySQL's TLS rule, through a loopback relay that records what the client
/// sends.
#[cfg(feature = "mysql")]
mod mysql_tls {
    use std::net::{IpAddr, SocketAddr};
    use std::sync::{Arc, Mutex};

    use aludel::prelude::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::{TcpListener, TcpStream};

    use super::{BoxError, LogRow, TestResult, turn, with_address};
    use crate::common::{Backend, Scratch, server_url};

    /// `CLIENT_SSL` in the second byte of the greeting's capability flags.
    const CLIENT_SSL_HIGH_BYTE: u8 = 0x08;

    /// Relays connections from `bind` to `upstream`, recording the bytes
    /// clients send; with `advertise_tls`, the server's greeting is changed
    /// to offer TLS (which the server cannot do: a client that takes the
    /// offer fails).
    struct Relay {
        addr: SocketAddr,
        sent: Arc<Mutex<Vec<u8>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Relay {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Relay {
        async fn start(
            bind: IpAddr,
            upstream: SocketAddr,
            advertise_tls: bool,
        ) -> Result<Relay, BoxError> {
            let listener = TcpListener::bind((bind, 0)).await?;
            let addr = listener.local_addr()?;
            let sent = Arc::new(Mutex::new(Vec::new()));
            let recorded = Arc::clone(&sent);
            let task = tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let recorded = Arc::clone(&recorded);
                    tokio::spawn(async move {
                        let _ = relay(client, upstream, advertise_tls, recorded).await;
                    });
                }
            });
            Ok(Relay { addr, sent, task })
        }

        fn sent(&self) -> Vec<u8> {
            self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
        }
    }

    async fn relay(
        client: TcpStream,
        upstream: SocketAddr,
        advertise_tls: bool,
        recorded: Arc<Mutex<Vec<u8>>>,
    ) -> std::io::Result<()> {
        let server = TcpStream::connect(upstream).await?;
        let (mut from_client, mut to_client) = client.into_split();
        let (mut from_server, mut to_server) = server.into_split();
        // The greeting: a 4-byte header, protocol 10, the version up to a
        // NUL, a 4-byte thread id, 8 bytes of scramble, a filler, then the
        // low two bytes of the capability flags.
        let mut header = [0u8; 4];
        from_server.read_exact(&mut header).await?;
        let len =
            usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
        let mut greeting = vec![0u8; len];
        from_server.read_exact(&mut greeting).await?;
        if advertise_tls
            && let Some(nul) = greeting.iter().skip(1).position(|&b| b == 0)
            && let Some(flags) = greeting.get_mut(1 + nul + 1 + 4 + 8 + 1 + 1)
        {
            *flags |= CLIENT_SSL_HIGH_BYTE;
        }
        to_client.write_all(&header).await?;
        to_client.write_all(&greeting).await?;
        let down = tokio::io::copy(&mut from_server, &mut to_client);
        let up = async {
            let mut buffer = [0u8; 4096];
            loop {
                let n = from_client.read(&mut buffer).await?;
                if n == 0 {
                    return to_server.shutdown().await;
                }
                recorded
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&buffer[..n]);
                to_server.write_all(&buffer[..n]).await?;
            }
        };
        let (down, up) = tokio::join!(down, up);
        down.map(drop).and(up)
    }

    /// A scratch database, its URI, and the server's address.
    async fn scratch() -> Result<Option<(Scratch, SocketAddr)>, BoxError> {
        if server_url(Backend::Mysql)?.is_none() {
            return Ok(None);
        }
        let scratch = Scratch::create(Backend::Mysql).await?;
        let url = url::Url::parse(scratch.admin_url())?;
        let host = url.host_str().ok_or("the MySQL URL has no host")?;
        let port = url.port().unwrap_or(3306);
        let addr = tokio::net::lookup_host((host, port))
            .await?
            .next()
            .ok_or("the MySQL host resolves to nothing")?;
        Ok(Some((scratch, addr)))
    }

    async fn round_trip(uri: &str) -> TestResult {
        let db = Database::connect(uri).await?;
        db.create_all().await?;
        let mut s = db.session();
        s.add(LogRow::new("over the relay"));
        s.commit().await?;
        assert_eq!(s.count(&select::<LogRow>()).await?, 1);
        drop(s);
        db.close();
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loopback_is_plaintext_even_when_the_server_offers_tls() -> TestResult {
        let (_turn, log) = turn().await;
        let Some((scratch, server)) = scratch().await? else {
            return Ok(());
        };
        let relay = Relay::start(IpAddr::from([127, 0, 0, 1]), server, true).await?;
        let uri = with_address(scratch.uri(), &relay.addr.to_string())?;
        // A client that took the offer would send an SSL request and then a
        // TLS hello the server cannot read, and fail.
        round_trip(&uri).await?;
        let user = url::Url::parse(scratch.uri())?.username().to_owned();
        let sent = relay.sent();
        assert!(
            sent.windows(user.len() + 1)
                .any(|w| w[..user.len()] == *user.as_bytes() && w[user.len()] == 0),
            "the login (user {user:?}) was not sent in plaintext"
        );
        let logged = log.take();
        assert!(
            !logged.contains("plaintext"),
            "a loopback connection warned:\n{logged}"
        );
        Ok(())
    }

    /// An address of this machine that is not loopback: the one it would
    /// send from to a public address (no packet is sent).
    fn non_loopback_address() -> Option<IpAddr> {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
        socket.connect("198.51.100.1:9").ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
    }

    #[cfg(feature = "tls")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn other_hosts_try_tls_and_warn_once_when_the_server_has_none() -> TestResult {
        let (_turn, log) = turn().await;
        let Some((scratch, server)) = scratch().await? else {
            return Ok(());
        };
        let Some(ip) = non_loopback_address() else {
            println!("skipped: this machine has no address other than loopback");
            return Ok(());
        };
        let relay = Relay::start(ip, server, false).await?;
        let uri = with_address(scratch.uri(), &relay.addr.to_string())?;
        round_trip(&uri).await?;
        let logged = log.take();
        let warnings: Vec<&str> = logged
            .lines()
            .filter(|l| l.contains("WARN") && l.contains("aludel::mysql"))
            .collect();
        assert_eq!(
            warnings.len(),
            1,
            "expected one warning about plaintext to {ip}, got:\n{logged}"
        );
        assert!(
            warnings[0].contains("no TLS") && warnings[0].contains(&ip.to_string()),
            "{}",
            warnings[0]
        );
        Ok(())
    }
}
