//! The users app end to end: the example binary on a free loopback port,
//! driven by headless Chromium through chromedriver and fantoccini (the
//! WebDriver protocol).
//!
//! Runs when `ALUDEL_BROWSER=1` or `CHROMEDRIVER` (the chromedriver binary)
//! is set; otherwise it prints one "skipped" line and passes, unless
//! `ALUDEL_REQUIRE_BROWSER` is set (CI), where it fails. `scripts/browser`
//! installs Chromium and chromedriver where they are missing. The example
//! must be built first (`cargo build --example users_app --features axum`;
//! `cargo test` without a target builds it). `CHROME` names the browser
//! binary when it is not `/usr/bin/chromium`.
//!
//! On failure the page as the browser last showed it is saved under
//! `target/tmp/browser/` (a PNG and the HTML), and the error names the step.
#![cfg(feature = "axum")]

use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A child process killed when the test ends, however it ends.
struct Spawned {
    name: &'static str,
    child: Child,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Err(e) = self.child.kill() {
                eprintln!("could not stop {}: {e}", self.name);
            }
            let _ = self.child.wait();
        }
    }
}

/// Whether to run, from the environment; `Err` when the browser is required
/// but not asked for.
fn wanted() -> Result<bool, BoxError> {
    if std::env::var_os("ALUDEL_BROWSER").is_some_and(|v| v == "1")
        || std::env::var_os("CHROMEDRIVER").is_some()
    {
        return Ok(true);
    }
    if std::env::var_os("ALUDEL_REQUIRE_BROWSER").is_some() {
        return Err("ALUDEL_REQUIRE_BROWSER is set but neither ALUDEL_BROWSER=1 nor CHROMEDRIVER is: run `eval \"$(scripts/browser)\"` first".into());
    }
    println!("skipped: set ALUDEL_BROWSER=1 or CHROMEDRIVER to run the browser test");
    Ok(false)
}

/// `target/debug/examples/users_app`, beside this test's own binary in `deps/`.
fn example_binary() -> Result<PathBuf, BoxError> {
    let exe = std::env::current_exe()?;
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or("the test binary has no profile folder")?;
    let binary = profile
        .join("examples")
        .join(format!("users_app{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build --example users_app --features axum`",
            binary.display()
        )
        .into());
    }
    Ok(binary)
}

/// Starts the app with its default SQLite database in a fresh folder, on a
/// port the system picks, and returns it with its address.
fn start_app(folder: &std::path::Path) -> Result<(Spawned, String), BoxError> {
    let mut child = Command::new(example_binary()?)
        .current_dir(folder)
        .env_remove("DATABASE_URL")
        .env("BIND", "127.0.0.1")
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let app = Spawned {
        name: "users_app",
        child,
    };
    // The app prints its address once it listens; a thread reads it, so a
    // silent app fails the deadline instead of hanging the test.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("users_app listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| "users_app did not print its address within 60 s")?;
    Ok((app, url))
}

fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Starts chromedriver on a free loopback port and waits until it accepts
/// connections.
fn start_chromedriver() -> Result<(Spawned, String), BoxError> {
    let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = free_port()?;
    let child = Command::new(&binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {binary}: {e} (run `eval \"$(scripts/browser)\"`)"))?;
    let driver = Spawned {
        name: "chromedriver",
        child,
    };
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("{binary} did not listen on {address} within 60 s").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((driver, format!("http://{address}")))
}

async fn open_browser(driver: &str, profile: &std::path::Path) -> Result<Client, BoxError> {
    // Without the networking flags Chromium tries to reach hosts this
    // machine may not reach, and stalls.
    let mut options = json!({
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--window-size=1000,900",
            format!("--user-data-dir={}", profile.display()),
        ]
    });
    let chrome = std::env::var("CHROME").ok().or_else(|| {
        std::path::Path::new("/usr/bin/chromium")
            .exists()
            .then(|| "/usr/bin/chromium".to_owned())
    });
    if let Some(chrome) = chrome {
        options["binary"] = json!(chrome);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), options);
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver)
        .await?;
    Ok(client)
}

const WAIT: Duration = Duration::from_secs(30);

/// Waits for the element at `css` on the page the browser shows.
async fn element(client: &Client, css: &str) -> Result<fantoccini::elements::Element, BoxError> {
    Ok(client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .map_err(|e| format!("no `{css}` on the page: {e}"))?)
}

/// An error (not a panic, so the evidence is kept) when `actual` is not `expected`.
fn same(actual: &str, expected: &str, what: &str) -> Result<(), BoxError> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what} is {actual:?}, expected {expected:?}").into())
    }
}

/// The user journey, one named step at a time; `step` says where it stopped.
async fn journey(client: &Client, base: &str, step: &mut &'static str) -> Result<(), BoxError> {
    *step = "open the empty list";
    client.goto(&format!("{base}/users")).await?;
    element(client, "#empty").await?;

    *step = "create a user through the form";
    element(client, "a.button[href='/users/create']")
        .await?
        .click()
        .await?;
    element(client, "input#username")
        .await?
        .send_keys("ada")
        .await?;
    element(client, "input#email")
        .await?
        .send_keys("ada@example.com")
        .await?;
    element(client, "button#create").await?.click().await?;
    let heading = element(client, "h1#username").await?.text().await?;
    same(&heading, "ada", "the new user's heading")?;
    let url = client.current_url().await?;
    if !url.path().starts_with("/user/") {
        return Err(format!("redirected to {url}, not to a user's page").into());
    }
    let user_path = url.path().to_owned();

    *step = "see the user in the list";
    client.goto(&format!("{base}/users")).await?;
    let link = element(client, "#users a").await?;
    same(&link.text().await?, "ada", "the first user in the list")?;

    *step = "open the user's page from the list";
    link.click().await?;
    let email = element(client, "dd#email").await?.text().await?;
    same(&email, "ada@example.com", "the email on the user's page")?;
    same(
        client.current_url().await?.path(),
        &user_path,
        "the page the link opened",
    )?;

    *step = "try a duplicate username";
    client.goto(&format!("{base}/users/create")).await?;
    element(client, "input#username")
        .await?
        .send_keys("ada")
        .await?;
    element(client, "button#create").await?.click().await?;
    let error = element(client, "#error").await?.text().await?;
    same(&error, "That username is already taken.", "the form error")?;
    same(
        client.current_url().await?.path(),
        "/users/create",
        "the page after a refused form",
    )?;

    *step = "delete the user";
    client.goto(&format!("{base}{user_path}")).await?;
    element(client, "a#delete").await?.click().await?;
    element(client, "button#confirm").await?.click().await?;

    *step = "see the list without the user";
    element(client, "#empty").await?;
    same(
        client.current_url().await?.path(),
        "/users",
        "the page after deleting",
    )?;
    let links = client.find_all(Locator::Css("#users a")).await?;
    if !links.is_empty() {
        return Err(format!("{} users left in the list", links.len()).into());
    }
    Ok(())
}

/// Saves what the browser shows under `target/tmp/browser/`.
async fn keep_evidence(client: &Client, step: &str) -> String {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let name: String = step
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let png = folder.join(format!("{name}.png"));
    let html = folder.join(format!("{name}.html"));
    let saved = async {
        std::fs::create_dir_all(&folder)?;
        std::fs::write(&png, client.screenshot().await?)?;
        std::fs::write(&html, client.source().await?)?;
        Ok::<_, BoxError>(())
    };
    match saved.await {
        Ok(()) => format!("screenshot {} and page {}", png.display(), html.display()),
        Err(e) => format!("no screenshot: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_show_duplicate_delete_in_chromium() -> Result<(), BoxError> {
    if !wanted()? {
        return Ok(());
    }
    let folder = tempfile::tempdir()?;
    let (mut app, base) = start_app(folder.path())?;
    let (_driver, driver_url) = start_chromedriver()?;
    let profile = tempfile::tempdir()?;
    let client = open_browser(&driver_url, profile.path()).await?;

    let mut step = "start";
    let outcome =
        tokio::time::timeout(Duration::from_secs(240), journey(&client, &base, &mut step))
            .await
            .unwrap_or_else(|_| Err("the journey took longer than 240 s".into()));
    if let Err(e) = outcome {
        let evidence = keep_evidence(&client, step).await;
        let _ = client.close().await;
        return Err(format!("step \"{step}\" failed: {e}; {evidence}").into());
    }
    client.close().await?;

    // The database is the default one, in the instance folder.
    assert!(folder.path().join("instance/users_app.db").exists());

    // Ctrl-C stops the app gracefully.
    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-INT", &app.child.id().to_string()])
            .status()?;
        assert!(status.success(), "kill -INT failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = app.child.try_wait()? {
                assert!(status.success(), "users_app exited with {status}");
                break;
            }
            if Instant::now() > deadline {
                return Err("users_app did not stop within 30 s of Ctrl-C".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}
