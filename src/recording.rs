//! What a session tells about the statements it sends: recorded queries
//! (Flask-SQLAlchemy's `get_recorded_queries`), the N+1 warning, and one
//! `tracing` span per call to the database, with OpenTelemetry's database
//! attribute names.
//!
//! The session is the place for it: it renders every statement it asks for
//! and sees it go out and come back, while the backends run some of them on
//! threads of their own (SQLite's), where a task-local scope would not
//! reach. Nothing here is paid for unless asked: with recording off and no
//! subscriber interested in the span or the warning, a [`Probe`] is an empty
//! `Option`, with no clock read, allocation or look at the SQL.

use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::backends::{Outcome, Row, RowStream};
use crate::error::Result;
use crate::sql::Statement;
use crate::sql::keywords::first_keyword;

/// The `tracing` target of the statement spans.
const SPAN_TARGET: &str = "aludel::statement";
/// The `tracing` target of the N+1 warning.
const N_PLUS_ONE_TARGET: &str = "aludel::n_plus_one";

/// The default of [`DatabaseBuilder::n_plus_one_threshold`](crate::DatabaseBuilder::n_plus_one_threshold).
pub const DEFAULT_N_PLUS_ONE_THRESHOLD: usize = 10;

/// One statement a [`Session`](crate::Session) sent, from
/// [`Session::recorded_queries`](crate::Session::recorded_queries).
///
/// Holds the SQL with its placeholders, never the bound values. `BEGIN`,
/// `COMMIT` and `ROLLBACK` are recorded as such, whatever exact statement
/// the backend sends for them (SQLite's `BEGIN IMMEDIATE`, say).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedQuery {
    /// The SQL text, with placeholders in the dialect's style.
    pub sql: Arc<str>,
    /// How many values were bound to it (never the values themselves).
    pub params: usize,
    /// How long the call that sent it took, from sending to the last row
    /// (a stream: to its end or its drop). Statements sent together in one
    /// call (see [`batch`](Self::batch)) each carry the whole call's time.
    pub duration: Duration,
    /// Rows returned, or for a statement that returns none, rows changed.
    /// For a stream dropped early, the rows read until then.
    pub rows: u64,
    /// The caller's call into the session (`s.get(..)`, `s.commit()`, ...)
    /// that sent it.
    pub location: &'static Location<'static>,
    /// How many statements were sent in the same call: 1 alone, more for a
    /// flush's batch or a commit's `BEGIN`, statements and `COMMIT`.
    pub batch: usize,
    /// `false` when the call failed or was cut off (its future dropped).
    pub succeeded: bool,
}

/// What a database's sessions record and report, fixed when it is built.
#[derive(Debug)]
pub(crate) struct Observe {
    pub(crate) record: bool,
    pub(crate) n_plus_one_threshold: usize,
    /// OpenTelemetry's `db.system.name`.
    pub(crate) system: &'static str,
    /// OpenTelemetry's `db.namespace`: the database name (or SQLite file).
    pub(crate) namespace: Option<String>,
    pub(crate) server_address: Option<String>,
    pub(crate) server_port: Option<u16>,
}

impl Observe {
    /// The settings for a database of `backend` (its [`name`](crate::backends::Backend::name))
    /// at `uri`'s host, port and database.
    pub(crate) fn new(
        backend: &'static str,
        uri: &crate::uri::DatabaseUri,
        record: bool,
        n_plus_one_threshold: usize,
    ) -> Observe {
        let (system, default_port) = match backend {
            "postgres" | "postgresql" => ("postgresql", Some(5432)),
            "mysql" | "mariadb" => ("mysql", Some(3306)),
            other => (other, None),
        };
        let server_address = default_port.and(uri.host()).map(str::to_owned);
        Observe {
            record,
            n_plus_one_threshold,
            system,
            namespace: uri
                .database()
                .filter(|name| !name.is_empty())
                .map(str::to_owned),
            server_port: server_address.as_ref().and(uri.port().or(default_port)),
            server_address,
        }
    }
}

/// A session's own part: its records, its statement shapes seen so far,
/// and where the caller's latest call came from.
#[derive(Debug, Default)]
pub(crate) struct SessionLog {
    /// Made at the first statement recorded; shared with the streams still
    /// being read, which add their record when they end.
    records: Option<Arc<Mutex<Vec<RecordedQuery>>>>,
    shapes: HashMap<Arc<str>, Shape>,
    /// Set by each public session call before it starts.
    pub(crate) caller: Option<&'static Location<'static>>,
}

#[derive(Debug)]
struct Shape {
    count: usize,
    first: &'static Location<'static>,
}

/// What one call to the connection sends.
#[derive(Clone, Copy)]
pub(crate) enum Sent<'a> {
    /// Statements sent as they are, in one call.
    Statements(&'a [Statement]),
    /// `BEGIN`, the statements and `COMMIT`, in one call.
    Transact(&'a [Statement]),
    /// A transaction command: `BEGIN`, `COMMIT` or `ROLLBACK`.
    Command(&'static str),
}

impl SessionLog {
    /// The records so far, in the order the statements finished.
    pub(crate) fn records(&self) -> Vec<RecordedQuery> {
        self.records
            .as_ref()
            .map(|records| lock(records).clone())
            .unwrap_or_default()
    }

    /// Forgets the records and the shapes seen, starting a new scope.
    pub(crate) fn clear(&mut self) {
        if let Some(records) = &self.records {
            lock(records).clear();
        }
        self.shapes.clear();
    }

    /// Starts watching a call that sends `sent`: counts its shapes for the
    /// N+1 warning, opens its span. Free when nothing listens.
    pub(crate) fn probe(&mut self, observe: &Observe, sent: Sent<'_>) -> Probe {
        let span = statement_span(observe);
        let spanned = !span.is_disabled();
        let counting = observe.n_plus_one_threshold > 0
            && tracing::enabled!(target: N_PLUS_ONE_TARGET, tracing::Level::WARN);
        if !observe.record && !spanned && !counting {
            return Probe(None);
        }
        let location = self.caller.unwrap_or_else(|| Location::caller());
        if counting && let Sent::Statements(statements) | Sent::Transact(statements) = sent {
            for statement in statements {
                self.count_shape(&statement.sql, location, observe.n_plus_one_threshold);
            }
        }
        if spanned {
            describe(&span, observe, sent);
        }
        let sink = observe.record.then(|| {
            let records = self.records.get_or_insert_with(Default::default);
            let entries = match sent {
                Sent::Statements(statements) => statements.iter().map(entry).collect(),
                Sent::Transact(statements) => std::iter::once((Arc::from("BEGIN"), 0))
                    .chain(statements.iter().map(entry))
                    .chain(std::iter::once((Arc::from("COMMIT"), 0)))
                    .collect(),
                Sent::Command(command) => vec![(Arc::from(command), 0)],
            };
            Sink {
                records: Arc::clone(records),
                entries,
                transact: matches!(sent, Sent::Transact(_)),
            }
        });
        let reads = match sent {
            Sent::Statements(statements) | Sent::Transact(statements) => {
                statements.iter().map(|s| is_read(&s.sql)).collect()
            }
            Sent::Command(_) => Vec::new(),
        };
        Probe(Some(Watch {
            span,
            reads,
            started: Instant::now(),
            location,
            sink,
            rows: 0,
            done: false,
        }))
    }

    fn count_shape(
        &mut self,
        sql: &Arc<str>,
        location: &'static Location<'static>,
        threshold: usize,
    ) {
        let shape = self.shapes.entry(Arc::clone(sql)).or_insert(Shape {
            count: 0,
            first: location,
        });
        shape.count += 1;
        // Once per shape and session: at the first run past the threshold.
        if shape.count == threshold.saturating_add(1) {
            tracing::warn!(
                target: N_PLUS_ONE_TARGET,
                shape = %sql,
                count = shape.count,
                threshold,
                first = %shape.first,
                latest = %location,
                "the same statement ran {} times in one session (first at {}, latest at {}): \
                 an N+1 pattern? Load the rows in one query (a filter on the keys, or a join) \
                 instead of one query per row",
                shape.count,
                shape.first,
                location,
            );
        }
    }
}

fn entry(statement: &Statement) -> (Arc<str>, usize) {
    (Arc::clone(&statement.sql), statement.params.len())
}

fn lock(records: &Mutex<Vec<RecordedQuery>>) -> std::sync::MutexGuard<'_, Vec<RecordedQuery>> {
    // A panic while holding the lock leaves a list that is still whole.
    records
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One call being watched; `Probe(None)` when nothing listens.
#[derive(Debug)]
pub(crate) struct Probe(Option<Watch>);

#[derive(Debug)]
struct Watch {
    span: tracing::Span,
    /// Per statement sent: whether it only reads (its rows are what it
    /// returned; a write's are what it changed).
    reads: Vec<bool>,
    started: Instant,
    location: &'static Location<'static>,
    sink: Option<Sink>,
    /// Rows a stream has read so far.
    rows: u64,
    done: bool,
}

#[derive(Debug)]
struct Sink {
    records: Arc<Mutex<Vec<RecordedQuery>>>,
    /// SQL and parameter count of each statement the call sends.
    entries: Vec<(Arc<str>, usize)>,
    /// `entries` starts with `BEGIN` and ends with `COMMIT`.
    transact: bool,
}

impl Probe {
    /// `call`, run inside the probe's span (so the backend's own events nest in it).
    pub(crate) fn instrument<F: Future>(&self, call: F) -> tracing::instrument::Instrumented<F> {
        match &self.0 {
            Some(watch) => call.instrument(watch.span.clone()),
            None => call.instrument(tracing::Span::none()),
        }
    }

    /// The call that ran statements returned `result`.
    pub(crate) fn finish(mut self, result: &Result<Vec<Outcome>>) {
        if let Some(watch) = self.0.as_mut() {
            match result {
                Ok(outcomes) => {
                    let reads = std::mem::take(&mut watch.reads);
                    let rows = |i: usize| {
                        outcomes
                            .get(i)
                            .map_or(0, |o| rows_of(o, reads.get(i).copied().unwrap_or(false)))
                    };
                    if !watch.span.is_disabled() {
                        let total: u64 = (0..outcomes.len()).map(rows).sum();
                        watch.span.record("db.response.returned_rows", total);
                    }
                    watch.done(true, rows);
                }
                Err(e) => watch.failed(e),
            }
        }
    }

    /// The call that sent a command (or nothing to count) returned `result`.
    pub(crate) fn finish_command(mut self, result: &Result<()>) {
        if let Some(watch) = self.0.as_mut() {
            match result {
                Ok(()) => watch.done(true, |_| 0),
                Err(e) => watch.failed(e),
            }
        }
    }

    /// `rows`, counted and timed until it ends or is dropped, and polled
    /// inside the probe's span. Returned as it is when nothing listens.
    pub(crate) fn stream(self, rows: RowStream) -> RowStream {
        match self.0 {
            None => rows,
            Some(watch) => Box::pin(Watched { rows, watch }),
        }
    }
}

impl Watch {
    fn done(&mut self, succeeded: bool, rows_of: impl Fn(usize) -> u64) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let Some(sink) = self.sink.take() else {
            return;
        };
        let duration = self.started.elapsed();
        let batch = sink.entries.len();
        let mut records = lock(&sink.records);
        for (i, (sql, params)) in sink.entries.into_iter().enumerate() {
            let rows = if !sink.transact {
                rows_of(i)
            } else if i == 0 || i + 1 == batch {
                0 // BEGIN, COMMIT
            } else {
                rows_of(i - 1)
            };
            records.push(RecordedQuery {
                sql,
                params,
                duration,
                rows,
                location: self.location,
                batch,
                succeeded,
            });
        }
    }

    fn failed(&mut self, error: &crate::Error) {
        if !self.done {
            // The kind of error, never its message: that may quote a value.
            self.span.record("error.type", error_type(error));
            self.span.record("otel.status_code", "ERROR");
        }
        self.done(false, |_| 0);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // Cut off (the call's future dropped) before it finished.
        let rows = self.rows;
        self.done(false, |_| rows);
    }
}

/// A stream of rows under watch.
struct Watched {
    rows: RowStream,
    watch: Watch,
}

impl Stream for Watched {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let this = &mut *self;
        let polled = {
            let _entered = this.watch.span.enter();
            this.rows.as_mut().poll_next(cx)
        };
        match &polled {
            Poll::Ready(Some(Ok(_))) => this.watch.rows += 1,
            Poll::Ready(Some(Err(e))) => this.watch.failed(e),
            Poll::Ready(None) => {
                let rows = this.watch.rows;
                this.watch.span.record("db.response.returned_rows", rows);
                this.watch.done(true, |_| rows);
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // Dropped before its end: stopping early is no failure.
        let rows = self.watch.rows;
        self.watch.done(true, |_| rows);
    }
}

/// A statement's rows: those it returned, or for a write that returned
/// none, those it changed (a read's "changed" count is whatever the
/// connection last reported: SQLite's is the previous write's).
fn rows_of(outcome: &Outcome, read: bool) -> u64 {
    if read || !outcome.rows.is_empty() {
        u64::try_from(outcome.rows.len()).unwrap_or(u64::MAX)
    } else {
        outcome.rows_affected
    }
}

/// Whether `sql` only reads, by its first keyword.
fn is_read(sql: &str) -> bool {
    let keyword = first_keyword(sql);
    ["SELECT", "VALUES", "TABLE", "SHOW", "EXPLAIN", "WITH"]
        .iter()
        .any(|k| keyword.eq_ignore_ascii_case(k))
}

/// A short name for the kind of `error`, for OpenTelemetry's `error.type`.
fn error_type(error: &crate::Error) -> &'static str {
    use crate::Error;
    match error {
        Error::NotFound { .. } => "not_found",
        Error::Constraint { .. } => "constraint",
        Error::Conversion { .. } => "conversion",
        Error::QueryTimeout { .. } => "query_timeout",
        Error::ConnectionLost { .. } => "connection_lost",
        Error::OutcomeUnknown { .. } => "outcome_unknown",
        Error::Pool(_) => "pool",
        _ => "error",
    }
}

/// The span of one call to the database, its attributes left to
/// [`describe`]; disabled (free) when no subscriber wants it.
fn statement_span(observe: &Observe) -> tracing::Span {
    tracing::info_span!(
        target: SPAN_TARGET,
        "statement",
        otel.name = Empty,
        otel.kind = "client",
        otel.status_code = Empty,
        db.system.name = observe.system,
        db.namespace = Empty,
        db.operation.name = Empty,
        db.collection.name = Empty,
        db.query.text = Empty,
        db.operation.batch.size = Empty,
        db.response.returned_rows = Empty,
        server.address = Empty,
        server.port = Empty,
        error.type = Empty,
    )
}

/// Fills in `span`'s attributes for a call that sends `sent`, named as
/// OpenTelemetry's conventions say: `{db.operation.name} {target}`, the
/// target being the collection, else the namespace, else the system.
fn describe(span: &tracing::Span, observe: &Observe, sent: Sent<'_>) {
    if let Some(namespace) = &observe.namespace {
        span.record("db.namespace", namespace.as_str());
    }
    if let Some(address) = &observe.server_address {
        span.record("server.address", address.as_str());
    }
    if let Some(port) = observe.server_port {
        span.record("server.port", port);
    }
    let (operation, collection, text) = match sent {
        Sent::Command(command) => (command.to_owned(), None, command.to_owned()),
        Sent::Statements(statements) | Sent::Transact(statements) => {
            if statements.len() > 1 {
                span.record("db.operation.batch.size", statements.len());
            }
            summarize(statements)
        }
    };
    let target = collection
        .as_deref()
        .or(observe.namespace.as_deref())
        .unwrap_or(observe.system);
    span.record("otel.name", format!("{operation} {target}"));
    span.record("db.operation.name", operation.as_str());
    if let Some(collection) = &collection {
        span.record("db.collection.name", collection.as_str());
    }
    span.record("db.query.text", text.as_str());
}

/// The operation, collection and query text of a call's statements. A
/// batch is `BATCH {operation}` when its statements share one (else
/// `BATCH`), with the collection they share, if any, and the texts joined
/// by `; `.
fn summarize(statements: &[Statement]) -> (String, Option<String>, String) {
    let mut parts = statements.iter().map(|s| operation_and_collection(&s.sql));
    let Some((operation, collection)) = parts.next() else {
        return (String::new(), None, String::new());
    };
    if statements.len() == 1 {
        return (
            operation,
            collection.map(str::to_owned),
            statements[0].sql.to_string(),
        );
    }
    let (mut same_operation, mut same_collection) = (true, true);
    for (op, coll) in parts {
        same_operation &= op == operation;
        same_collection &= coll == collection;
    }
    let operation = if same_operation {
        format!("BATCH {operation}")
    } else {
        "BATCH".to_owned()
    };
    let collection = collection.filter(|_| same_collection).map(str::to_owned);
    let text = statements
        .iter()
        .map(|s| &*s.sql)
        .collect::<Vec<_>>()
        .join("; ");
    (operation, collection, text)
}

/// The first keyword of `sql`, upper-case, and the table it names after
/// `FROM`, `INTO`, `UPDATE` or `TABLE` (skipping `IF [NOT] EXISTS`),
/// unquoted. Read without parsing: a statement it cannot read has no
/// collection.
pub(crate) fn operation_and_collection(sql: &str) -> (String, Option<&str>) {
    let operation = first_keyword(sql).to_ascii_uppercase();
    let mut words = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',' || c == ';')
        .filter(|w| !w.is_empty());
    let mut collection = None;
    while let Some(word) = words.next() {
        let names_table = ["FROM", "INTO", "UPDATE", "TABLE"]
            .iter()
            .any(|k| word.eq_ignore_ascii_case(k));
        if !names_table {
            continue;
        }
        let mut next = words.next();
        while let Some(w) = next {
            if ["IF", "NOT", "EXISTS", "ONLY"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
            {
                next = words.next();
            } else {
                break;
            }
        }
        collection = next
            .map(|w| w.trim_matches(|c| matches!(c, '"' | '`' | '[' | ']')))
            .filter(|w| !w.is_empty() && !w.starts_with(['?', '$', ':']));
        break;
    }
    (operation, collection)
}

#[cfg(test)]
mod tests {
    use super::operation_and_collection;

    #[test]
    fn reads_the_operation_and_the_table() {
        assert_eq!(
            operation_and_collection(r#"SELECT "id" FROM "user" WHERE "id" = ?"#),
            ("SELECT".into(), Some("user"))
        );
        assert_eq!(
            operation_and_collection("insert into `tag` (`name`) VALUES (?)"),
            ("INSERT".into(), Some("tag"))
        );
        assert_eq!(
            operation_and_collection(r#"UPDATE "user" SET "email" = $1"#),
            ("UPDATE".into(), Some("user"))
        );
        assert_eq!(
            operation_and_collection(r#"CREATE TABLE IF NOT EXISTS "user" ("id" INTEGER)"#),
            ("CREATE".into(), Some("user"))
        );
        assert_eq!(
            operation_and_collection("SELECT 1"),
            ("SELECT".into(), None)
        );
    }
}
