//! The URI options the MySQL backend takes: unknown and unsupported ones
//! refused, the password never shown, the `mariadb` scheme and the
//! `returning` option checked against the server, and generated keys in add
//! order without `RETURNING` (one INSERT per row).

use std::time::Instant;

use aludel::DatabaseUri;
use aludel::backends::BackendContext;
use aludel::prelude::*;
use mysql_async::prelude::Queryable as _;

use crate::common::TestResult;
use crate::{MyDb, MyUser};

pub(crate) async fn unknown_and_unsupported_options_are_refused(t: MyDb) -> TestResult {
    let part_of = |uri: String| async move {
        match Database::connect(&uri).await {
            Err(Error::Uri { part, message }) => Ok((part, message)),
            other => Err(format!("expected a URI error, got {other:?}")),
        }
    };
    let (part, message) = part_of(t.uri_with("bogus=1")).await?;
    assert_eq!(part, "option \"bogus\"");
    assert!(message.contains("statement_cache_size"), "{message}");
    // Without the `tls` feature, modes that need TLS are refused, never
    // downgraded (with it, tests/tls.rs checks they never go plaintext).
    #[cfg(not(feature = "tls"))]
    for mode in [
        "ssl-mode=REQUIRED",
        "ssl_mode=verify_identity",
        "ssl-mode=VERIFY_CA",
    ] {
        let (part, message) = part_of(t.uri_with(mode)).await?;
        assert!(part.starts_with("option \"ssl"), "{part}");
        assert!(message.contains("TLS"), "{message}");
        // Counted by .ci/run, which checks that this block ran at all.
        println!("checked without the tls feature: {mode} is refused");
    }
    for bad in [
        "ssl-mode=sometimes",
        "ssl-mode=DISABLED&ssl_mode=DISABLED",
        "statement_cache_size=lots",
        "statement_cache_size=100000",
        "returning=maybe",
        "connect_timeout=0",
    ] {
        part_of(t.uri_with(bad)).await?;
    }
    // Accepted spellings.
    for good in [
        "ssl-mode=DISABLED",
        "ssl_mode=preferred",
        "connect_timeout=2s&statement_cache_size=0",
    ] {
        Database::connect(&t.uri_with(good)).await?;
    }
    Ok(())
}

pub(crate) async fn the_password_is_never_shown(t: MyDb) -> TestResult {
    const SECRET: &str = "Sup3r@Secret-pw";
    let encoded = "Sup3r%40Secret-pw";
    let with_password = |uri: &str| match uri.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://aludel_nobody:{encoded}@{rest}")
        }
        None => uri.to_owned(),
    };
    let check = |text: String| {
        assert!(
            !text.contains(SECRET) && !text.contains(encoded) && !text.contains("Sup3r"),
            "the password shows in: {text}"
        );
    };
    // A wrong password, an unreachable port, a timeout.
    let unreachable = with_password("mysql://127.0.0.1:1/db?connect_timeout=2");
    for uri in [with_password(&t.uri), unreachable] {
        let err = Database::connect(&uri)
            .await
            .err()
            .ok_or("connected with a made-up user")?;
        check(format!("{err}"));
        check(format!("{err:?}"));
        let mut source = std::error::Error::source(&err);
        while let Some(e) = source {
            check(format!("{e} {e:?}"));
            source = e.source();
        }
    }
    // The backend's and the database's Debug.
    let mut uri: DatabaseUri = with_password(&t.uri).parse()?;
    let backend = aludel::backends::mysql::factory(&mut uri, &BackendContext::default())?;
    check(format!("{backend:?}"));
    // A database that logged in with the password: a user of the test's
    // own (the shared server's root has none), dropped afterwards.
    let user = format!("aludel_pw_{}", std::process::id());
    let mut admin = t.admin().await?;
    for host in ["%", "localhost"] {
        // Account statements take no parameters; the password is a constant.
        admin
            .query_drop(format!(
                "CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '{SECRET}'"
            ))
            .await?;
        admin
            .query_drop(format!("GRANT ALL ON `{}`.* TO '{user}'@'{host}'", t.name))
            .await?;
    }
    let logged_in = match t.uri.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{user}:{encoded}@{rest}")
        }
        None => return Err("the test URI is not a URL".into()),
    };
    let shown = match Database::connect(&logged_in).await {
        Ok(db) => {
            let mut s = db.session();
            let who = s
                .execute_text(text("SELECT CURRENT_USER() AS who"))
                .await?
                .one()
                .await?
                .try_get::<String>("who")?;
            drop(s);
            Ok((format!("{db:?}"), who))
        }
        Err(e) => Err(e),
    };
    for host in ["%", "localhost"] {
        admin
            .query_drop(format!("DROP USER IF EXISTS '{user}'@'{host}'"))
            .await?;
    }
    admin.disconnect().await?;
    let (shown, who) = shown?;
    assert!(who.starts_with(&user), "logged in as {who}, not {user}");
    check(shown);
    Ok(())
}

pub(crate) async fn the_mariadb_scheme_and_returning_option_are_checked_against_the_server(
    t: MyDb,
) -> TestResult {
    let mut admin = t.admin().await?;
    let version: Option<String> = admin.query_first("SELECT VERSION()").await?;
    let version = version.unwrap_or_default();
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let (major, minor, _) = admin.server_version();
    let returning = mariadb && (major, minor) >= (10, 5);

    let db = Database::connect(&t.uri).await?;
    assert_eq!(
        db.dialect().supports_returning(),
        returning,
        "server {version}"
    );
    let explicit = Database::connect(&t.uri_with("returning=false")).await?;
    assert!(!explicit.dialect().supports_returning());
    match Database::connect(&t.uri_with_scheme("mariadb")).await {
        Ok(db) => {
            assert!(mariadb, "mariadb:// accepted a MySQL server");
            assert_eq!(db.dialect().supports_returning(), returning);
        }
        Err(e) => assert!(!mariadb, "mariadb:// refused MariaDB {version}: {e}"),
    }
    let forced = Database::connect(&t.uri_with("returning=true")).await;
    assert_eq!(
        forced.is_ok(),
        returning,
        "returning=true against {version}"
    );
    Ok(())
}

/// Without `RETURNING` (`returning=false`, and servers that lack it):
/// one INSERT per row, each reporting `LAST_INSERT_ID()`, keys still in add
/// order. (With `RETURNING`, the behaviour suite's
/// `generated_keys_come_back_in_add_order` checks the same.)
pub(crate) async fn generated_keys_come_back_in_add_order_without_returning(t: MyDb) -> TestResult {
    let db = t.database(&t.uri).await?;
    if !db.dialect().supports_returning() {
        println!("the server cannot do INSERT ... RETURNING (MariaDB 10.5+ can)");
    }
    let db = Database::connect(&t.uri_with("returning=false")).await?;
    assert!(!db.dialect().supports_returning());
    keys_in_add_order(&db, "one").await?;
    Ok(())
}

/// Adds 1000 users named `{prefix}NNNN` in one commit and checks that
/// each handle got the key of its own row.
pub(crate) async fn keys_in_add_order(db: &Database, prefix: &str) -> TestResult {
    {
        let mut s = db.session();
        let started = Instant::now();
        let added = s.add_all((0..1000).map(|i| MyUser::new(format!("{prefix}{i:04}"))));
        s.commit().await?;
        println!("{prefix}: 1000 rows committed in {:?}", started.elapsed());
        let keys = added
            .iter()
            .map(|a| a.key().ok_or("a row has no key"))
            .collect::<Result<Vec<i64>, _>>()?;
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "keys are not in add order"
        );
        // Each key belongs to the row it was handed to.
        let users = s
            .execute(
                select::<MyUser>()
                    .filter(MyUser::USERNAME.like(format!("{prefix}%")))
                    .order_by(MyUser::ID.asc()),
            )
            .await?
            .all()
            .await?;
        assert_eq!(users.len(), 1000);
        for (i, (user, key)) in users.iter().zip(&keys).enumerate() {
            assert_eq!(user.id, *key);
            assert_eq!(user.username, format!("{prefix}{i:04}"));
        }
    }
    Ok(())
}
