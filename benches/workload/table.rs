//! The table: one line per operation, aludel's median, the raw driver's,
//! and their ratio.

use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Default)]
pub(crate) struct Table {
    lines: Vec<[String; 4]>,
}

impl Table {
    /// A line of times: the total, or per operation when `per` is given.
    pub(crate) fn time(
        &mut self,
        what: &str,
        aludel: &[Duration],
        raw: &[Duration],
        per: Option<usize>,
    ) {
        let show = |samples: &[Duration]| -> Option<(f64, String)> {
            let total = median(samples)?.as_secs_f64();
            Some(match per {
                Some(count) => {
                    let micros = total * 1e6 / count.max(1) as f64;
                    (micros, format!("{micros:.2} µs"))
                }
                None => (total, format!("{:.1} ms", total * 1e3)),
            })
        };
        self.line(what, show(aludel), show(raw));
    }

    /// A line of memory figures in KiB. The ratio of two small figures
    /// says nothing, so under 1 MiB on the raw side the line shows the
    /// difference instead.
    pub(crate) fn memory(&mut self, what: &str, aludel: &[u64], raw: &[u64]) {
        let show = |kib: u64| format!("{kib} KiB");
        let (a, r) = (median(aludel), median(raw));
        let ratio = match (a, r) {
            (Some(a), Some(r)) if r >= 1024 => format!("{:.2}x", a as f64 / r as f64),
            (Some(a), Some(r)) => format!("{:+} KiB", a as i64 - r as i64),
            _ => "n/a".to_owned(),
        };
        let text = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), show);
        self.lines.push([what.to_owned(), text(a), text(r), ratio]);
    }

    fn line(&mut self, what: &str, aludel: Option<(f64, String)>, raw: Option<(f64, String)>) {
        let ratio = match (&aludel, &raw) {
            (Some((a, _)), Some((r, _))) if *r > 0.0 => format!("{:.2}x", a / r),
            _ => "n/a".to_owned(),
        };
        let text = |v: Option<(f64, String)>| v.map_or_else(|| "n/a".to_owned(), |(_, s)| s);
        self.lines
            .push([what.to_owned(), text(aludel), text(raw), ratio]);
    }

    pub(crate) fn render(&self) -> String {
        let heading = ["operation", "aludel", "raw", "aludel/raw"].map(str::to_owned);
        let all: Vec<&[String; 4]> = std::iter::once(&heading).chain(&self.lines).collect();
        let width = |c: usize| all.iter().map(|l| l[c].chars().count()).max().unwrap_or(0);
        let widths = [width(0), width(1), width(2), width(3)];
        let mut out = String::new();
        for (i, line) in all.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
                line[0],
                line[1],
                line[2],
                line[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
            );
            if i == 0 {
                let _ = writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 6));
            }
        }
        out
    }
}

/// The median of `samples` (the upper one of the middle two for an even count).
fn median<T: Copy + Ord>(samples: &[T]) -> Option<T> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}
