//! Peak memory, in a child process: the runner re-runs its own binary with
//! `--peak-child`, which fills (if needed) and streams the reads database
//! and prints how far resident memory rose.

use std::process::Command;

use aludel::prelude::*;

use crate::BoxResult;
use crate::aludel_side::{aludel_bulk_insert, aludel_stream_all};
use crate::args::Args;
use crate::data::{User, check_count, make_users};
use crate::raw_driver::raw_driver_at;
use crate::run::on_runtime;

/// Re-runs this program with `extra` and reads the peak growth it prints, in KiB.
pub(crate) fn spawn_peak_child(args: &Args, extra: &[&str]) -> BoxResult<u64> {
    let output = Command::new(std::env::current_exe()?)
        .args([
            "--rows",
            &args.rows.to_string(),
            "--runtime",
            args.runtime.as_str(),
        ])
        .args(extra)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("the peak-memory child failed: {stderr}").into());
    }
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("peak_growth_kib="))
        .ok_or_else(|| format!("the peak-memory child printed no figure: {stdout}"))?
        .trim()
        .parse()
        .map_err(Into::into)
}

/// In the child: opens (and if needed fills) the reads database, resets the
/// peak-RSS mark, streams every row, and prints how far the peak rose.
pub(crate) fn peak_child(args: &Args, side: &str) -> BoxResult<()> {
    let growth = match side {
        "aludel" => {
            let uri = args.uri.clone().ok_or("--peak-child aludel needs --uri")?;
            let rows = args.rows;
            let rt = args.runtime()?;
            on_runtime(&rt, async move {
                let db = Database::connect(&uri).await?;
                db.create_all().await?;
                // Two point lookups tell a filled table without warming
                // SQLite's page cache the way a COUNT(*) scan would.
                let mut session = db.session();
                let last = rows as i64;
                let filled = session.get::<User>(last).await?.is_some()
                    && session.get::<User>(last + 1).await?.is_none();
                drop(session);
                if !filled {
                    // An in-memory database starts empty in a new process.
                    aludel_bulk_insert(db.clone(), make_users(rows)).await?;
                }
                let baseline = reset_peak_rss();
                let (_, seen) = aludel_stream_all(db.clone()).await?;
                let growth = peak_rss_kib().saturating_sub(baseline);
                if seen != rows {
                    return Err(aludel::Error::Query(format!(
                        "streamed {seen} rows, expected {rows}"
                    )));
                }
                Ok(growth)
            })?
        }
        "raw" => {
            let location = args
                .raw_db
                .clone()
                .ok_or("--peak-child raw needs --raw-db")?;
            let mut driver = raw_driver_at(&location)?;
            driver.reopen_reads(args.rows)?;
            let baseline = reset_peak_rss();
            let (_, seen) = driver.stream_all()?;
            let growth = peak_rss_kib().saturating_sub(baseline);
            check_count("raw stream", seen, args.rows)?;
            growth
        }
        other => return Err(format!("unknown --peak-child side {other:?}").into()),
    };
    println!("peak_growth_kib={growth}");
    Ok(())
}

/// Resets the process's peak-RSS mark to its current RSS (Linux 4.0+) and
/// returns that RSS in KiB; 0 where `/proc` is not there.
fn reset_peak_rss() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    proc_status_kib("VmRSS:").unwrap_or(0)
}

/// The process's peak RSS in KiB; 0 where `/proc` is not there.
fn peak_rss_kib() -> u64 {
    proc_status_kib("VmHWM:").unwrap_or(0)
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
