//! Pagination with Flask-SQLAlchemy's rules, as pure arithmetic: no query
//! runs here.
//!
//! # The flow
//!
//! A paginated read goes through four steps; only two touch the database:
//!
//! 1. [`PageRequest::validate`]: the `page` and `per_page` asked for become
//!    a [`PageParams`], or a 404 ([`Error::NotFound`]) when either is below
//!    1 and `error_out` is set. No I/O.
//! 2. Count the rows the query matches (`SELECT COUNT(*)`; one round trip).
//! 3. [`PageParams::window`]`(total)`: the `OFFSET` and `LIMIT` to select
//!    with, `None` when no row can be on the page (so the select is skipped),
//!    or a 404 for a page past the last one when `error_out` is set and the
//!    page is not the first. Select the rows (the second round trip).
//! 4. [`PageParams::into_page`]`(items, total)`: the [`Page`] handed to the
//!    caller, with the numbers a page widget needs.
//!
//! ```
//! use aludel::PageRequest;
//! use aludel::__internal::Window;
//!
//! // `?page=3` from the request; `per_page` not given, so 20.
//! let params = PageRequest::from_query_args(Some("3"), None).validate("user")?;
//! let total = 95; // SELECT COUNT(*) ...
//! let window = params.window(total, "user")?;
//! assert_eq!(window, Some(Window { offset: 40, limit: 20 }));
//! let items: Vec<u64> = (41..=60).collect(); // SELECT ... LIMIT 20 OFFSET 40
//! let page = params.into_page(items, total);
//! assert_eq!((page.pages(), page.first(), page.last()), (5, 41, 60));
//! assert_eq!(page.prev_num(), Some(2));
//! let widget: Vec<Option<u64>> = page.iter_pages_default().collect();
//! assert_eq!(widget, [Some(1), Some(2), Some(3), Some(4), Some(5)]);
//! # Ok::<(), aludel::Error>(())
//! ```
//!
//! Flask-SQLAlchemy selects the items first and counts after; counting first
//! lets a page past the end be refused, or skipped, without selecting. The
//! count and the select are two statements: unless they run in one
//! transaction with a snapshot, rows written in between can make the items
//! disagree with `total`, as in Flask-SQLAlchemy.
//!
//! # Where this differs from Flask-SQLAlchemy
//!
//! - A `per_page` below 1 with `error_out` off falls back to the default,
//!   which Flask-SQLAlchemy does not cap by `max_per_page`; here the cap holds.
//! - A missing `per_page` takes `default_per_page` (20 unless set). The
//!   `default_per_page` in Flask-SQLAlchemy's newer source is not used
//!   inside a request when the `per_page` argument is missing: 20 is.
//! - A `max_per_page` or `default_per_page` of 0 is refused
//!   ([`Error::Query`]) instead of dividing by zero later.
//! - Numbers are unsigned 64-bit: an offset past `i64::MAX`, the largest any
//!   database accepts, is an [`Error::Query`], never an overflow.

use crate::error::{Error, Result};

/// Items per page when the request gives none (Flask-SQLAlchemy's default).
pub const DEFAULT_PER_PAGE: u64 = 20;

/// The cap on `per_page` unless the caller sets another (Flask-SQLAlchemy's default).
pub const DEFAULT_MAX_PER_PAGE: u64 = 100;

/// The largest offset or limit handed to a database: every one reads them as
/// signed 64-bit integers.
const MAX_OFFSET: u64 = i64::MAX as u64;

/// What a caller asked for: a page number, a page size, and how strictly to
/// treat values out of range. Check it with [`validate`](PageRequest::validate).
///
/// The default is page 1, the default page size (20), a cap of 100 per page,
/// and `error_out` on, as in Flask-SQLAlchemy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u64,
    per_page: Option<u64>,
    default_per_page: u64,
    max_per_page: Option<u64>,
    error_out: bool,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            per_page: None,
            default_per_page: DEFAULT_PER_PAGE,
            max_per_page: Some(DEFAULT_MAX_PER_PAGE),
            error_out: true,
        }
    }
}

impl PageRequest {
    /// Page `page` (1-based) of `per_page` items, with the default cap (100
    /// per page) and `error_out` on. Out-of-range values are dealt with by
    /// [`validate`](PageRequest::validate), not here.
    pub fn new(page: u64, per_page: u64) -> Self {
        PageRequest {
            page,
            per_page: Some(per_page),
            ..PageRequest::default()
        }
    }

    /// The request a web handler got as the `page` and `per_page` query
    /// arguments, read as Flask-SQLAlchemy reads `request.args`: a missing
    /// `page` is 1, a missing `per_page` the default page size.
    ///
    /// Text is read as Python's `int()` reads it: surrounding whitespace, a
    /// sign, and `_` between digits are allowed; only ASCII digits count
    /// (Python also takes other scripts' digits). Text that is
    /// not a number, a negative number, and 0 all mean "invalid", which
    /// [`validate`](PageRequest::validate) turns into a 404 or the default
    /// as `error_out` says; a number too large for 64 bits reads as
    /// `u64::MAX` (a page past the end, or a size cut to the cap).
    pub fn from_query_args(page: Option<&str>, per_page: Option<&str>) -> Self {
        PageRequest {
            page: page.map_or(1, parse_arg),
            per_page: per_page.map(parse_arg),
            ..PageRequest::default()
        }
    }

    /// Sets the cap on `per_page`; `None` for no cap. A larger `per_page`
    /// is cut to the cap, not refused. The default is 100.
    #[must_use]
    pub fn with_max_per_page(mut self, max_per_page: Option<u64>) -> Self {
        self.max_per_page = max_per_page;
        self
    }

    /// Sets the page size used when none is given, or when the one given is
    /// below 1 and `error_out` is off. The default is 20.
    #[must_use]
    pub fn with_default_per_page(mut self, default_per_page: u64) -> Self {
        self.default_per_page = default_per_page;
        self
    }

    /// Whether out-of-range values are a 404 (`true`, the default) or are
    /// clamped: a page below 1 becomes 1, a size below 1 the default, and a
    /// page past the end comes back empty.
    #[must_use]
    pub fn with_error_out(mut self, error_out: bool) -> Self {
        self.error_out = error_out;
        self
    }

    /// The page asked for (1-based; 0 stands for any invalid value).
    pub fn page(&self) -> u64 {
        self.page
    }

    /// The page size asked for; `None` when none was given.
    pub fn per_page(&self) -> Option<u64> {
        self.per_page
    }

    /// The page size used when none is given.
    pub fn default_per_page(&self) -> u64 {
        self.default_per_page
    }

    /// The cap on the page size; `None` for none.
    pub fn max_per_page(&self) -> Option<u64> {
        self.max_per_page
    }

    /// Whether out-of-range values are a 404.
    pub fn error_out(&self) -> bool {
        self.error_out
    }

    /// Checks the request as Flask-SQLAlchemy's `paginate()` does: the
    /// page size is cut to `max_per_page`; then a page or size below 1 is a
    /// 404 when `error_out` is set, or else becomes page 1 / the default
    /// size. Runs no query; `table` only names the 404.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] as above; [`Error::Query`] when `max_per_page` or
    /// `default_per_page` is 0.
    pub fn validate(&self, table: &str) -> Result<PageParams> {
        if self.max_per_page == Some(0) {
            return Err(Error::Query(
                "pagination: max_per_page must be at least 1 (use None for no cap)".to_owned(),
            ));
        }
        if self.default_per_page == 0 {
            return Err(Error::Query(
                "pagination: default_per_page must be at least 1".to_owned(),
            ));
        }
        let cap = |n: u64| self.max_per_page.map_or(n, |max| n.min(max));
        let asked = self.per_page.unwrap_or(self.default_per_page);
        let mut per_page = cap(asked);
        let mut page = self.page;
        if page < 1 || per_page < 1 {
            if self.error_out {
                return Err(Error::NotFound {
                    table: table.to_owned(),
                    key: format!("page {} with {asked} per page", self.page),
                });
            }
            page = page.max(1);
            if per_page < 1 {
                per_page = cap(self.default_per_page);
            }
        }
        Ok(PageParams {
            page,
            per_page,
            error_out: self.error_out,
        })
    }
}

/// Reads a query argument as Python's `int()` would, then maps it onto the
/// request's unsigned fields: invalid, negative and zero become 0 (all of
/// which `validate` treats alike), too large becomes `u64::MAX`.
fn parse_arg(text: &str) -> u64 {
    // Unicode White_Space, as Python's `int()` strips it (not \x1c-\x1f).
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut value: u64 = 0;
    let mut previous_was_digit = false;
    for byte in digits.bytes() {
        match byte {
            b'0'..=b'9' => {
                value = value
                    .saturating_mul(10)
                    .saturating_add(u64::from(byte - b'0'));
                previous_was_digit = true;
            }
            b'_' if previous_was_digit => previous_was_digit = false,
            _ => return 0,
        }
    }
    // Empty, or ending in `_`: not a number.
    if !previous_was_digit || negative {
        return 0;
    }
    value
}

/// A validated request: the page and page size to use. Made by
/// [`PageRequest::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageParams {
    page: u64,
    per_page: u64,
    error_out: bool,
}

/// The rows to select for a page: `LIMIT limit OFFSET offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to take at most.
    pub limit: u64,
}

impl PageParams {
    /// The page (1-based, at least 1).
    pub fn page(&self) -> u64 {
        self.page
    }

    /// Items per page (at least 1).
    pub fn per_page(&self) -> u64 {
        self.per_page
    }

    /// Whether a page past the end is a 404.
    pub fn error_out(&self) -> bool {
        self.error_out
    }

    /// `(page - 1) * per_page`, the rows before this page, computed without
    /// overflow. For a caller that selects without counting first.
    ///
    /// # Errors
    ///
    /// [`Error::Query`] when the offset is past `i64::MAX`, the largest any
    /// database accepts (page 10^17 of 100 rows, say).
    pub fn offset(&self) -> Result<u64> {
        (self.page - 1)
            .checked_mul(self.per_page)
            .filter(|&offset| offset <= MAX_OFFSET)
            .ok_or_else(|| {
                Error::Query(format!(
                    "pagination: page {} of {} rows puts the offset past the largest a \
                     database accepts (2^63 - 1)",
                    self.page, self.per_page
                ))
            })
    }

    /// The rows to select, given the `total` that the count found: `None`
    /// when none can be on this page (skip the select; the page is empty).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (naming `table`) for a page past the last one
    /// when `error_out` is set and the page is not page 1 (page 1 of nothing
    /// is an empty page, not a 404); [`Error::Query`] as for
    /// [`offset`](PageParams::offset).
    pub fn window(&self, total: u64, table: &str) -> Result<Option<Window>> {
        if self.page > pages_for(total, self.per_page) {
            if self.error_out && self.page != 1 {
                return Err(Error::NotFound {
                    table: table.to_owned(),
                    key: format!("page {} with {} per page", self.page, self.per_page),
                });
            }
            return Ok(None);
        }
        Ok(Some(Window {
            offset: self.offset()?,
            limit: self.per_page.min(MAX_OFFSET),
        }))
    }

    /// The page handed to the caller.
    pub fn into_page<T>(self, items: Vec<T>, total: u64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// Pages of `per_page` needed for `total` items; 0 for no items (or a page
/// size of 0, which Flask-SQLAlchemy would divide by).
fn pages_for(total: u64, per_page: u64) -> u64 {
    if per_page == 0 {
        0
    } else {
        total.div_ceil(per_page)
    }
}

/// One page of results, with the numbers a page widget needs (Flask-SQLAlchemy's
/// `Pagination`, without the queries: it holds no connection).
///
/// Every method is plain arithmetic and never overflows, whatever the
/// fields hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Page<T> {
    /// The items on this page, at most `per_page` of them.
    pub items: Vec<T>,
    /// The number of items on all pages.
    pub total: u64,
    /// This page's number, from 1.
    pub page: u64,
    /// The most items a page holds.
    pub per_page: u64,
}

impl<T> Page<T> {
    /// The number of pages: `ceil(total / per_page)`, 0 when there are no items.
    pub fn pages(&self) -> u64 {
        pages_for(self.total, self.per_page)
    }

    /// Whether there is a page before this one (this is not page 1).
    pub fn has_prev(&self) -> bool {
        self.page > 1
    }

    /// Whether there is a page after this one.
    pub fn has_next(&self) -> bool {
        self.page < self.pages()
    }

    /// The previous page's number, `None` on page 1.
    pub fn prev_num(&self) -> Option<u64> {
        self.has_prev().then(|| self.page - 1)
    }

    /// The next page's number, `None` on the last page.
    pub fn next_num(&self) -> Option<u64> {
        self.has_next().then(|| self.page + 1)
    }

    /// The number of this page's first item, counting from 1 across all
    /// pages; 0 when the page has no items.
    pub fn first(&self) -> u64 {
        if self.items.is_empty() {
            0
        } else {
            self.page
                .saturating_sub(1)
                .saturating_mul(self.per_page)
                .saturating_add(1)
        }
    }

    /// The number of this page's last item, counting from 1 across all
    /// pages; 0 when the page has no items.
    pub fn last(&self) -> u64 {
        let len = u64::try_from(self.items.len()).unwrap_or(u64::MAX);
        let first = self.first();
        first.max(first.saturating_add(len).saturating_sub(1))
    }

    /// Page numbers for a page widget, with `None` where pages are skipped:
    /// the first `left_edge` pages, `left_current` pages before the current
    /// one, the current one, `right_current` after it, and the last
    /// `right_edge` pages. Exactly Flask-SQLAlchemy 3's `iter_pages`: with 20
    /// pages, on page 7, and (2, 2, 4, 2), it yields
    /// `1, 2, None, 5, 6, 7, 8, 9, 10, 11, None, 19, 20`.
    pub fn iter_pages(
        &self,
        left_edge: u64,
        left_current: u64,
        right_current: u64,
        right_edge: u64,
    ) -> IterPages {
        IterPages::new(
            i128::from(self.page),
            i128::from(self.pages()),
            [left_edge, left_current, right_current, right_edge].map(i128::from),
        )
    }

    /// [`iter_pages`](Page::iter_pages) with Flask-SQLAlchemy's defaults:
    /// `(2, 2, 4, 2)`.
    pub fn iter_pages_default(&self) -> IterPages {
        self.iter_pages(2, 2, 4, 2)
    }

    /// The items, by reference.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The same page with each item converted by `f` (a row into a view
    /// model, say).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Page<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// The page numbers of [`Page::iter_pages`]: `Some(n)` for page `n`, `None`
/// for a gap.
#[derive(Debug, Clone)]
pub struct IterPages {
    steps: [Step; 5],
    at: usize,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Pages `next..end`.
    Pages {
        next: i128,
        end: i128,
    },
    /// One `None`.
    Gap,
    Done,
}

impl IterPages {
    /// Flask-SQLAlchemy's algorithm, line for line, in `i128` so that no
    /// step can overflow or go below zero where Python's integers would not.
    fn new(
        page: i128,
        pages: i128,
        [left_edge, left_current, right_current, right_edge]: [i128; 4],
    ) -> Self {
        let mut steps = [Step::Done; 5];
        let gap = |show: bool| if show { Step::Gap } else { Step::Done };
        let done = |steps| IterPages { steps, at: 0 };

        let pages_end = pages + 1;
        if pages_end == 1 {
            return done(steps);
        }
        let left_end = (1 + left_edge).min(pages_end);
        steps[0] = Step::Pages {
            next: 1,
            end: left_end,
        };
        if left_end == pages_end {
            return done(steps);
        }
        let mid_start = left_end.max(page - left_current);
        let mid_end = (page + right_current + 1).min(pages_end);
        steps[1] = gap(mid_start - left_end > 0);
        steps[2] = Step::Pages {
            next: mid_start,
            end: mid_end,
        };
        if mid_end == pages_end {
            return done(steps);
        }
        let right_start = mid_end.max(pages_end - right_edge);
        steps[3] = gap(right_start - mid_end > 0);
        steps[4] = Step::Pages {
            next: right_start,
            end: pages_end,
        };
        done(steps)
    }
}

impl Iterator for IterPages {
    type Item = Option<u64>;

    fn next(&mut self) -> Option<Option<u64>> {
        while let Some(step) = self.steps.get_mut(self.at) {
            match step {
                Step::Pages { next, end } if *next < *end => {
                    let page = *next;
                    *next += 1;
                    // Between 1 and `pages`, which came from a u64.
                    return Some(Some(u64::try_from(page).unwrap_or(u64::MAX)));
                }
                Step::Gap => {
                    *step = Step::Done;
                    self.at += 1;
                    return Some(None);
                }
                _ => self.at += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(page: u64, per_page: u64, total: u64, items: usize) -> Page<()> {
        Page {
            items: vec![(); items],
            total,
            page,
            per_page,
        }
    }

    #[test]
    fn flask_docstring_example() {
        let widget: Vec<_> = page(7, 1, 20, 1).iter_pages_default().collect();
        let n = Some;
        assert_eq!(
            widget,
            [
                n(1),
                n(2),
                None,
                n(5),
                n(6),
                n(7),
                n(8),
                n(9),
                n(10),
                n(11),
                None,
                n(19),
                n(20)
            ]
        );
    }

    #[test]
    fn page_zero_is_404_or_page_one() {
        let err = PageRequest::new(0, 10).validate("user").unwrap_err();
        assert!(err.is_not_found(), "{err}");
        let ok = PageRequest::new(0, 10)
            .with_error_out(false)
            .validate("user")
            .unwrap();
        assert_eq!((ok.page(), ok.per_page()), (1, 10));
    }

    #[test]
    fn per_page_is_capped() {
        let p = PageRequest::new(1, 1000).validate("t").unwrap();
        assert_eq!(p.per_page(), 100);
        let p = PageRequest::new(1, 1000)
            .with_max_per_page(None)
            .validate("t")
            .unwrap();
        assert_eq!(p.per_page(), 1000);
    }

    #[test]
    fn huge_pages_never_overflow() {
        let p = PageRequest::new(1_000_000_000_000, 100)
            .validate("t")
            .unwrap();
        assert!(p.window(5, "t").unwrap_err().is_not_found());
        let lenient = PageRequest::new(u64::MAX, 100)
            .with_error_out(false)
            .validate("t")
            .unwrap();
        assert_eq!(lenient.window(5, "t").unwrap(), None);
        assert!(matches!(lenient.offset(), Err(Error::Query(_))));
        let empty = lenient.into_page(Vec::<u8>::new(), 5);
        assert_eq!(
            (empty.first(), empty.last(), empty.next_num()),
            (0, 0, None)
        );
    }

    #[test]
    fn query_args_read_like_python_int() {
        for (text, value) in [
            (" 12 ", 12),
            ("+3", 3),
            ("1_000", 1000),
            ("007", 7),
            ("-4", 0),
            ("", 0),
            ("1__0", 0),
            ("_1", 0),
            ("1_", 0),
            ("3.0", 0),
            ("99999999999999999999999", u64::MAX),
        ] {
            assert_eq!(parse_arg(text), value, "{text:?}");
        }
    }
}
