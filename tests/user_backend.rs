//! "Backends are plugins: `aludel::backends::register("scheme", factory)`
//! adds one without forking the crate." A backend of the test's own, which
//! counts its connections and hands the work to SQLite, registered under a
//! scheme aludel does not know, carries a whole session.

#![cfg(feature = "sqlite")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aludel::backends::{Backend, BackendContext, Connection, Dialect};
use aludel::prelude::*;
use aludel::{DatabaseUri, Error};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Connections the user backend opened.
static CONNECTS: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Backend>,
}

#[async_trait::async_trait]
impl Backend for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn dialect(&self) -> &'static dyn Dialect {
        self.inner.dialect()
    }

    async fn connect(&self) -> aludel::Result<Box<dyn Connection>> {
        CONNECTS.fetch_add(1, Ordering::SeqCst);
        self.inner.connect().await
    }
}

fn counting(uri: &mut DatabaseUri, context: &BackendContext) -> aludel::Result<Arc<dyn Backend>> {
    let inner = aludel::backends::sqlite::factory(uri, context)?;
    Ok(Arc::new(Counting { inner }))
}

#[derive(Model, Debug, Clone, PartialEq)]
struct PluginRow {
    #[aludel(primary_key)]
    id: i64,
    name: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_backend_serves_its_scheme() -> TestResult {
    let instance = tempfile::tempdir()?;
    let open = || {
        Database::builder()
            .uri("counting:///plugin.db")
            .instance_path(instance.path())
            .build()
    };
    match open().await {
        Err(Error::Uri { part, message }) => {
            assert_eq!(part, "scheme");
            assert!(message.contains("counting"), "{message}");
        }
        other => return Err(format!("an unknown scheme was accepted: {other:?}").into()),
    }

    // Upper case in, lower case kept: schemes are case-insensitive.
    aludel::backends::register("Counting", counting);
    assert!(
        aludel::backends::schemes().iter().any(|s| s == "counting"),
        "{:?}",
        aludel::backends::schemes()
    );
    let db = open().await?;
    assert_eq!(db.backend_name(), "counting");
    db.create_all().await?;
    let mut s = db.session();
    let added = s.add(PluginRow {
        id: 0,
        name: "through the plugin".into(),
    });
    s.commit().await?;
    let key = added.key().ok_or("no key after commit")?;
    let row = s.get_or_404::<PluginRow>(key).await?;
    assert_eq!(row.name, "through the plugin");
    assert!(
        CONNECTS.load(Ordering::SeqCst) >= 1,
        "the registered backend opened no connection"
    );
    // SQLite did the work, in the file the URI names.
    assert!(instance.path().join("plugin.db").is_file());
    Ok(())
}
