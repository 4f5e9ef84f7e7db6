//! The URI options the PostgreSQL backend takes, checked before anything
//! connects, and a password that never shows in an error.

use aludel::Database;

use crate::common::{Backend, TestResult, server_url};
use crate::{Pg, error_chain};

pub(crate) async fn options_are_checked(_pg: Pg) -> TestResult {
    let base = server_url(Backend::Postgres)?.ok_or("no server URL")?;
    let separator = if base.contains('?') { '&' } else { '?' };
    let error = Database::connect(&format!("{base}{separator}bogus=1"))
        .await
        .err()
        .ok_or("an unknown option was accepted")?;
    let message = error.to_string();
    assert!(
        message.contains("\"bogus\"") && message.contains("statement_cache_size"),
        "{message}"
    );

    // Without the `tls` feature, modes that need TLS are refused, never
    // downgraded (with it, tests/tls.rs checks they really encrypt).
    #[cfg(not(feature = "tls"))]
    {
        let error = Database::connect(&format!("{base}{separator}sslmode=require"))
            .await
            .err()
            .ok_or("sslmode=require connected without TLS")?;
        assert!(
            matches!(error, aludel::Error::Unsupported { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("TLS"), "{error}");
        // Counted by .ci/run, which checks that this block ran at all.
        println!("checked without the tls feature: sslmode=require is refused");
    }

    let error = Database::connect(&format!("{base}{separator}statement_cache_size=lots"))
        .await
        .err()
        .ok_or("a malformed cache size was accepted")?;
    assert!(
        error.to_string().contains("statement_cache_size"),
        "{error}"
    );
    Ok(())
}

pub(crate) async fn password_never_appears_in_errors(_pg: Pg) -> TestResult {
    // Nothing listens on port 1; trust auth would accept any password anyway.
    let error = Database::builder()
        .uri("postgres://ada:s3cr3t%40pw@127.0.0.1:1/test?connect_timeout=2s")
        .build()
        .await
        .err()
        .ok_or("connected to port 1")?;
    let shown = format!("{error} | {error:?} | {}", error_chain(&error));
    for secret in ["s3cr3t", "s3cr3t@pw", "s3cr3t%40pw"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(
        shown.contains("127.0.0.1:1"),
        "the error names the server: {shown}"
    );
    Ok(())
}
