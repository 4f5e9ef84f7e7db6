//! What the README promises about the files SQLite keeps: the instance
//! folder, the database and its WAL files readable by their owner only;
//! `sqlite://` kept in a private folder (on `/dev/shm` where there is one)
//! that goes away with the last clone of its `Database`; `mode=ro` refusing
//! writes; foreign keys enforced; and a file that cannot be opened reported
//! as `Error::Connect`.

#![cfg(feature = "sqlite")]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aludel::ConstraintKind;
use aludel::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[derive(Model, Debug, Clone, PartialEq)]
struct FileRow {
    #[aludel(primary_key)]
    id: i64,
    name: String,
}

impl FileRow {
    fn new(name: &str) -> FileRow {
        FileRow {
            id: 0,
            name: name.to_owned(),
        }
    }
}

fn mode_of(path: &Path) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(metadata.permissions().mode() & 0o777)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_folder_database_and_wal_files_are_owner_only() -> TestResult {
    let root = tempfile::tempdir()?;
    // A lax umask would leave whatever the library does not narrow itself
    // readable by everyone; the default 022 already makes files 0644.
    let instance = root.path().join("instance").join("nested");
    let db = Database::builder()
        .uri("sqlite:///app.db")
        .instance_path(&instance)
        .build()
        .await?;
    db.create_all().await?;
    let mut s = db.session();
    s.add(FileRow::new("ada"));
    s.commit().await?;

    let file = instance.join("app.db");
    let wal = with_suffix(&file, "-wal");
    let shm = with_suffix(&file, "-shm");
    // The connections are still open, so WAL keeps its sidecars.
    for (what, path, expected) in [
        ("the instance folder", instance.as_path(), 0o700),
        (
            "its parent, created with it",
            root.path().join("instance").as_path(),
            0o700,
        ),
        ("the database file", file.as_path(), 0o600),
        ("the WAL file", wal.as_path(), 0o600),
        ("the WAL index", shm.as_path(), 0o600),
    ] {
        let mode = mode_of(path)?;
        assert_eq!(
            mode,
            expected,
            "{what} ({}) has mode {mode:o}",
            path.display()
        );
    }
    Ok(())
}

/// The file SQLite has open as `main`, asked of SQLite itself.
async fn main_file(db: &Database) -> Result<PathBuf, Box<dyn std::error::Error + Send + Sync>> {
    let row = db
        .session()
        .execute_text(text(
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
        ))
        .await?
        .one()
        .await?;
    Ok(PathBuf::from(row.try_get::<String>("file")?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_database_folder_is_removed_when_the_last_clone_is_dropped() -> TestResult {
    let db = Database::builder()
        .uri("sqlite://")
        .pool_max_size(4)
        .build()
        .await?;
    db.create_all().await?;
    let mut s = db.session();
    s.add(FileRow::new("ada"));
    s.commit().await?;
    drop(s);

    let file = main_file(&db).await?;
    let folder = file
        .parent()
        .ok_or("the in-memory database has no folder")?
        .to_path_buf();
    if Path::new("/dev/shm").is_dir() {
        assert!(
            folder.starts_with("/dev/shm"),
            "sqlite:// is at {}, not in RAM",
            folder.display()
        );
    }
    assert!(file.is_file(), "{} is not there", file.display());
    assert_eq!(mode_of(&file)?, 0o600, "{}", file.display());

    // A clone keeps it alive.
    let clone = db.clone();
    drop(db);
    assert!(folder.is_dir(), "gone while a clone lives");
    assert_eq!(clone.session().count(&select::<FileRow>()).await?, 1);
    drop(clone);

    // The pool's connections close on threads of their own: give them time.
    let deadline = Instant::now() + Duration::from_secs(10);
    while folder.exists() {
        assert!(
            Instant::now() < deadline,
            "{} still exists 10 s after the last clone was dropped",
            folder.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// The folder of `sqlite://` is private, as the backend's docs say, like
/// the files in it (tempfile's default would be 0755).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_database_folder_is_owner_only() -> TestResult {
    let db = Database::connect("sqlite://").await?;
    let file = main_file(&db).await?;
    let folder = file
        .parent()
        .ok_or("the in-memory database has no folder")?;
    let mode = mode_of(folder)?;
    assert_eq!(mode, 0o700, "{} has mode {mode:o}", folder.display());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mode_refuses_writes() -> TestResult {
    let instance = tempfile::tempdir()?;
    let writer = Database::builder()
        .uri("sqlite:///app.db")
        .instance_path(instance.path())
        .build()
        .await?;
    writer.create_all().await?;
    let mut s = writer.session();
    s.add(FileRow::new("ada"));
    s.commit().await?;
    drop(s);
    writer.close();
    drop(writer);

    let reader = Database::builder()
        .uri("sqlite:///app.db?mode=ro")
        .instance_path(instance.path())
        .build()
        .await?;
    let mut s = reader.session();
    assert_eq!(s.count(&select::<FileRow>()).await?, 1, "ro cannot read");
    s.add(FileRow::new("grace"));
    let err = s
        .commit()
        .await
        .err()
        .ok_or("a commit on a mode=ro database succeeded")?;
    println!("the refused write: {err}");
    assert_eq!(s.pending_len(), 1, "the refused work is not kept");
    s.rollback().await?;
    let written = s
        .execute_text(text("INSERT INTO file_row (name) VALUES (:name)").bind("name", "linus"))
        .await;
    assert!(written.is_err(), "a text INSERT on mode=ro succeeded");
    drop(s);
    assert_eq!(reader.session().count(&select::<FileRow>()).await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_keys_are_enforced_on_every_connection() -> TestResult {
    let instance = tempfile::tempdir()?;
    for uri in ["sqlite:///fk.db", "sqlite://"] {
        let db = Database::builder()
            .uri(uri)
            .instance_path(instance.path())
            .pool_max_size(3)
            .build()
            .await?;
        let mut s = db.session();
        s.execute_text(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
            .await?;
        s.execute_text(text(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, \
             parent_id INTEGER NOT NULL REFERENCES parent (id))",
        ))
        .await?;
        s.commit().await?;
        drop(s);
        // Three sessions at once hold three connections: each must refuse.
        let attempts = (0..3).map(|i| {
            let db = db.clone();
            async move {
                let mut s = db.session();
                let result = s
                    .execute_text(
                        text("INSERT INTO child (id, parent_id) VALUES (:id, 42)").bind("id", i),
                    )
                    .await
                    .map(drop);
                // Held until every session has tried, so none shares a connection.
                tokio::time::sleep(Duration::from_millis(200)).await;
                result
            }
        });
        for result in futures::future::join_all(attempts).await {
            let err = result.err().ok_or_else(|| {
                format!("{uri}: a child row with no parent was accepted: foreign keys are off")
            })?;
            assert!(
                err.is_constraint(ConstraintKind::ForeignKey),
                "{uri}: expected a foreign key error, got {err:?}"
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_cannot_be_opened_is_a_connect_error() -> TestResult {
    let instance = tempfile::tempdir()?;
    for mode in ["rw", "ro"] {
        let result = Database::builder()
            .uri(format!("sqlite:///missing.db?mode={mode}"))
            .instance_path(instance.path())
            .build()
            .await;
        assert!(
            matches!(
                result,
                Err(Error::Connect {
                    backend: "sqlite",
                    ..
                })
            ),
            "mode={mode} on a missing file: {result:?}"
        );
        assert!(
            !instance.path().join("missing.db").exists(),
            "mode={mode} created the file"
        );
    }
    Ok(())
}
