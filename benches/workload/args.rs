//! The command line: the options a run takes (`--rows`, `--lookups`,
//! `--repeats`, `--uri`, `--runtime`, `--only`), the ones the runner passes
//! to its own peak-memory children (`--peak-child`, `--raw-db`), and the
//! `--bench` that `cargo bench` appends.

use crate::BoxResult;

#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) rows: usize,
    pub(crate) lookups: usize,
    pub(crate) repeats: usize,
    /// `None`: files in a temporary folder.
    pub(crate) uri: Option<String>,
    pub(crate) runtime: Flavor,
    /// The operations to measure (`--only`); all of them by default.
    pub(crate) only: Vec<Operation>,
    /// Set in a child process that measures one stream's peak memory:
    /// `aludel` (then `uri` names the database) or `raw` (then `raw_db` does).
    pub(crate) peak_child: Option<String>,
    pub(crate) raw_db: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    MultiThread,
    CurrentThread,
}

impl Flavor {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Flavor::MultiThread => "multi-thread",
            Flavor::CurrentThread => "current-thread",
        }
    }
}

/// What `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Insert,
    Stream,
    Lookup,
    Memory,
}

impl Operation {
    const ALL: [Operation; 4] = [
        Operation::Insert,
        Operation::Stream,
        Operation::Lookup,
        Operation::Memory,
    ];

    fn parse(name: &str) -> BoxResult<Operation> {
        Ok(match name.trim() {
            "insert" => Operation::Insert,
            "stream" => Operation::Stream,
            "lookup" => Operation::Lookup,
            "memory" => Operation::Memory,
            other => return Err(format!("unknown operation {other:?} for --only\n{USAGE}").into()),
        })
    }
}

const USAGE: &str = "usage: workload [--rows N] [--lookups M] [--repeats R] [--uri URI] \
                     [--runtime multi-thread|current-thread] \
                     [--only insert,stream,lookup,memory]";

impl Args {
    pub(crate) fn parse(mut argv: impl Iterator<Item = String>) -> BoxResult<Args> {
        let mut args = Args {
            rows: 100_000,
            lookups: 10_000,
            repeats: 5,
            uri: None,
            runtime: Flavor::MultiThread,
            only: Operation::ALL.to_vec(),
            peak_child: None,
            raw_db: None,
        };
        while let Some(flag) = argv.next() {
            let mut value = || {
                argv.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--rows" => args.rows = value()?.parse()?,
                "--lookups" => args.lookups = value()?.parse()?,
                "--repeats" => args.repeats = value()?.parse()?,
                "--uri" => args.uri = Some(value()?),
                "--runtime" => {
                    args.runtime = match value()?.as_str() {
                        "multi-thread" | "multi" => Flavor::MultiThread,
                        "current-thread" | "current" => Flavor::CurrentThread,
                        other => return Err(format!("unknown runtime {other:?}\n{USAGE}").into()),
                    }
                }
                "--only" => {
                    args.only = value()?
                        .split(',')
                        .map(Operation::parse)
                        .collect::<BoxResult<_>>()?;
                }
                "--peak-child" => args.peak_child = Some(value()?),
                "--raw-db" => args.raw_db = Some(value()?),
                // `cargo bench` appends it to every bench's arguments.
                "--bench" => {}
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
            }
        }
        if args.rows == 0 || args.repeats == 0 {
            return Err("--rows and --repeats must be at least 1".into());
        }
        Ok(args)
    }

    pub(crate) fn wants(&self, operation: Operation) -> bool {
        self.only.contains(&operation)
    }

    pub(crate) fn runtime(&self) -> BoxResult<tokio::runtime::Runtime> {
        let mut builder = match self.runtime {
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        Ok(builder.enable_all().build()?)
    }
}
