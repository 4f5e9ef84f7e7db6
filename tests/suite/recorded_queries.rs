//! What a session tells about its statements: recorded queries (SQL with
//! placeholders, rows, the caller's line), the N+1 warning past the
//! threshold and not below it, and statement spans with OpenTelemetry's
//! attribute names; never a bound value in any of them.
//!
//! Spans and events are caught by a small `tracing_subscriber::Layer` set
//! for the test's own future only (`WithSubscriber`), so the suite's other
//! tests, running at the same time, neither see it nor add to it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use aludel::RecordedQuery;
use aludel::prelude::*;
use tracing::instrument::WithSubscriber as _;
use tracing_subscriber::layer::{Context, SubscriberExt as _};

use crate::common::{Backend, BoxError, TestDb, TestResult, backend_tests};
use crate::models::User;

backend_tests!(
    records_statements_in_order_with_rows_and_caller_location,
    records_nothing_unless_asked,
    warns_of_n_plus_one_past_the_threshold_only,
    statement_spans_carry_opentelemetry_names_and_no_values,
);

/// A value bound in every test: it must never appear in a record or a trace.
const SECRET: &str = "s3cret-bound-value";

fn this_file(record: &RecordedQuery) -> bool {
    record.location.file().ends_with("recorded_queries.rs")
}

async fn records_statements_in_order_with_rows_and_caller_location(t: TestDb) -> TestResult {
    let db = t.create_all(t.builder().record_queries(true)).await?;
    let mut s = db.session();
    s.add(User::new(SECRET, None));
    s.add(User::new("grace", Some(SECRET)));
    let commit_line = line!() + 1;
    s.commit().await?;
    let get_line = line!() + 1;
    let found = s.get::<User>(1_000_000).await?;
    assert_eq!(found, None);
    let query = select::<User>().filter(User::USERNAME.ne(SECRET));
    let select_line = line!() + 1;
    let users = s.execute(query).await?.all().await?;
    assert_eq!(users.len(), 1);

    let records = s.recorded_queries();
    let shown: Vec<_> = records
        .iter()
        .map(|r| (&*r.sql, r.rows, r.location.line()))
        .collect();
    // The commit: BEGIN, the INSERT(s), COMMIT; then the two reads.
    let commit: Vec<_> = records
        .iter()
        .filter(|r| r.location.line() == commit_line)
        .collect();
    assert!(commit.len() >= 3, "{shown:#?}");
    assert_eq!(&*commit[0].sql, "BEGIN", "{shown:#?}");
    assert_eq!(&*commit[commit.len() - 1].sql, "COMMIT", "{shown:#?}");
    let inserted: u64 = commit
        .iter()
        .filter(|r| r.sql.starts_with("INSERT"))
        .map(|r| r.rows)
        .sum();
    assert_eq!(inserted, 2, "{shown:#?}");
    assert!(
        commit.iter().all(|r| r.succeeded && this_file(r)),
        "{shown:#?}"
    );

    let reads = &records[commit.len()..];
    assert_eq!(reads.len(), 2, "{shown:#?}");
    let (get, select) = (&reads[0], &reads[1]);
    assert!(
        get.sql.starts_with("SELECT") && get.sql.contains("user"),
        "{get:?}"
    );
    assert_eq!(
        (get.rows, get.params, get.location.line()),
        (0, 1, get_line),
        "{get:?}"
    );
    assert!(select.sql.starts_with("SELECT"), "{select:?}");
    assert_eq!((select.rows, select.params), (1, 1), "{select:?}");
    assert_eq!(select.location.line(), select_line, "{select:?}");
    for record in &records {
        assert!(this_file(record), "{record:?}");
        assert!(record.succeeded, "{record:?}");
        assert!(!record.sql.contains(SECRET), "{record:?}");
        assert!(
            record.duration > std::time::Duration::ZERO || record.rows == 0,
            "{record:?}"
        );
    }

    s.clear_recorded_queries();
    assert!(s.recorded_queries().is_empty());
    Ok(())
}

async fn records_nothing_unless_asked(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let mut s = db.session();
    s.add(User::new("ada", None));
    s.commit().await?;
    s.get::<User>(1).await?;
    assert!(
        s.recorded_queries().is_empty(),
        "{:?}",
        s.recorded_queries()
    );
    Ok(())
}

async fn warns_of_n_plus_one_past_the_threshold_only(t: TestDb) -> TestResult {
    const THRESHOLD: usize = 3;
    let db = t
        .create_all(t.builder().n_plus_one_threshold(THRESHOLD))
        .await?;
    let capture = Capture::default();
    let run = async {
        let mut s = db.session();
        let mut keys = Vec::new();
        for name in ["a", "b", "c", "d", "e", "f"] {
            keys.push(s.add(User::new(name, Some(SECRET))));
        }
        s.commit().await?;
        let keys: Vec<i64> = keys.iter().filter_map(|k| k.key()).collect();
        assert_eq!(keys.len(), 6);

        // Up to the threshold: no warning.
        let first_line = line!() + 2;
        for key in &keys[..THRESHOLD] {
            s.get::<User>(*key).await?;
        }
        assert_eq!(capture.warnings(), Vec::<Caught>::new());

        // Past it: one warning, however many more.
        let latest_line = line!() + 2;
        for key in &keys[THRESHOLD..] {
            s.get::<User>(*key).await?;
        }
        let warnings = capture.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        let fields = &warnings[0].fields;
        let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
        assert!(field("shape").starts_with("SELECT"), "{fields:?}");
        assert!(field("shape").contains("user"), "{fields:?}");
        assert_eq!(field("count"), (THRESHOLD + 1).to_string(), "{fields:?}");
        assert!(
            field("first").contains(&format!("recorded_queries.rs:{first_line}:")),
            "{fields:?}"
        );
        assert!(
            field("latest").contains(&format!("recorded_queries.rs:{latest_line}:")),
            "{fields:?}"
        );
        assert!(field("message").contains("N+1"), "{fields:?}");

        // The count is per session: a new one starts again from zero.
        let mut other = db.session();
        for key in &keys[..THRESHOLD] {
            other.get::<User>(*key).await?;
        }
        assert_eq!(capture.warnings().len(), 1);
        Ok::<_, BoxError>(())
    };
    run.with_subscriber(capture.subscriber()).await?;
    capture.assert_no(SECRET);
    Ok(())
}

async fn statement_spans_carry_opentelemetry_names_and_no_values(t: TestDb) -> TestResult {
    let db = t.database().await?;
    let capture = Capture::default();
    let run = async {
        let mut s = db.session();
        let ada = s.add(User::new("ada", Some(SECRET)));
        s.commit().await?;
        let id = ada.key().ok_or("no key")?;
        s.get::<User>(id).await?;
        let found = s
            .execute(select::<User>().filter(User::EMAIL.eq(SECRET)))
            .await?
            .all()
            .await?;
        assert_eq!(found.len(), 1);
        Ok::<_, BoxError>(())
    };
    run.with_subscriber(capture.subscriber()).await?;

    let spans = capture.spans();
    let system = match t.backend() {
        Backend::SqliteFile | Backend::SqliteMemory => "sqlite",
        Backend::Postgres => "postgresql",
        Backend::Mysql => "mysql",
    };
    let selects: Vec<_> = spans
        .iter()
        .filter(|s| s.fields.get("db.operation.name").map(String::as_str) == Some("SELECT"))
        .collect();
    assert_eq!(selects.len(), 2, "{spans:#?}");
    for span in &selects {
        let field = |name: &str| span.fields.get(name).cloned();
        assert_eq!(span.name, "statement");
        assert_eq!(
            field("otel.name").as_deref(),
            Some("SELECT user"),
            "{span:?}"
        );
        assert_eq!(field("otel.kind").as_deref(), Some("client"), "{span:?}");
        assert_eq!(field("db.system.name").as_deref(), Some(system), "{span:?}");
        assert_eq!(
            field("db.collection.name").as_deref(),
            Some("user"),
            "{span:?}"
        );
        let text = field("db.query.text").unwrap_or_default();
        assert!(
            text.starts_with("SELECT") && text.contains("user"),
            "{span:?}"
        );
        assert!(
            text.contains('?') || text.contains("$1"),
            "no placeholder: {span:?}"
        );
        match t.backend() {
            Backend::SqliteMemory => assert_eq!(field("db.namespace"), None, "{span:?}"),
            _ => assert!(
                field("db.namespace").is_some_and(|n| !n.is_empty()),
                "{span:?}"
            ),
        }
        match t.backend() {
            Backend::Postgres | Backend::Mysql => {
                assert!(
                    field("server.address").is_some_and(|a| !a.is_empty()),
                    "{span:?}"
                );
                let port: u16 = field("server.port").ok_or("no server.port")?.parse()?;
                assert!(port > 0, "{span:?}");
            }
            _ => {
                assert_eq!(field("server.address"), None, "{span:?}");
                assert_eq!(field("server.port"), None, "{span:?}");
            }
        }
    }
    // The commit: its INSERT (with BEGIN and COMMIT, in one call), one row.
    let insert = spans
        .iter()
        .find(|s| {
            s.fields
                .get("otel.name")
                .is_some_and(|n| n == "INSERT user")
        })
        .ok_or("no INSERT span")?;
    assert_eq!(
        insert
            .fields
            .get("db.response.returned_rows")
            .map(String::as_str),
        Some("1"),
        "{insert:?}"
    );
    capture.assert_no(SECRET);
    Ok(())
}

/// A span or event as caught: its name (or target, for an event) and fields.
#[derive(Debug, Clone, PartialEq)]
struct Caught {
    name: String,
    level: tracing::Level,
    fields: BTreeMap<String, String>,
}

/// Every span and event the test's future emits, with their fields.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<Caught>>>,
    /// Span id -> index in `spans` (ids are reused once a span closes).
    ids: Arc<Mutex<BTreeMap<u64, usize>>>,
    events: Arc<Mutex<Vec<(String, Caught)>>>,
}

impl Capture {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::registry().with(self.clone())
    }

    fn spans(&self) -> Vec<Caught> {
        lock(&self.spans).clone()
    }

    fn warnings(&self) -> Vec<Caught> {
        lock(&self.events)
            .iter()
            .filter(|(target, e)| target == "aludel::n_plus_one" && e.level == tracing::Level::WARN)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// No span or event field holds `value`.
    fn assert_no(&self, value: &str) {
        let spans = self.spans();
        let events = lock(&self.events).clone();
        let all = spans.iter().chain(events.iter().map(|(_, e)| e));
        for caught in all {
            for (name, field) in &caught.fields {
                assert!(
                    !field.contains(value),
                    "{name} holds a bound value: {caught:?}"
                );
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> tracing_subscriber::Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = lock(&self.spans);
        spans.push(Caught {
            name: attrs.metadata().name().to_owned(),
            level: *attrs.metadata().level(),
            fields,
        });
        lock(&self.ids).insert(id.into_u64(), spans.len() - 1);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: Context<'_, S>,
    ) {
        let Some(&index) = lock(&self.ids).get(&id.into_u64()) else {
            return;
        };
        if let Some(span) = lock(&self.spans).get_mut(index) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        lock(&self.events).push((
            event.metadata().target().to_owned(),
            Caught {
                name: event.metadata().name().to_owned(),
                level: *event.metadata().level(),
                fields,
            },
        ));
    }
}
