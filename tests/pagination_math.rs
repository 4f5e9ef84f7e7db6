//! Pagination arithmetic against Flask-SQLAlchemy 3.x: the argument checks,
//! the page properties and `iter_pages`, compared with the expected values
//! that `tests/fixtures/iter_pages.py` (a Python reference of
//! flask_sqlalchemy/pagination.py) wrote into `tests/fixtures/iter_pages.txt`;
//! then the 404 rule for pages past the end, and offsets that would overflow.

use aludel::__internal::Window;
use aludel::Error;
use aludel::{Page, PageRequest};

const FIXTURE: &str = include_str!("fixtures/iter_pages.txt");

/// The fixture's cases of one kind: (inputs, expected outputs), split at `=>`.
fn cases(kind: &str) -> Vec<(Vec<&'static str>, Vec<&'static str>)> {
    let cases: Vec<_> = FIXTURE
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let arrow = fields.iter().position(|&f| f == "=>")?;
            (fields[0] == kind).then(|| (fields[1..arrow].to_vec(), fields[arrow + 1..].to_vec()))
        })
        .collect();
    assert!(cases.len() > 100, "too few {kind} cases in the fixture");
    cases
}

fn num(field: &str) -> u64 {
    field
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {field:?}"))
}

fn opt_num(field: &str) -> Option<u64> {
    (field != "-").then(|| num(field))
}

/// A Python integer, cut to what fits in a `u64` (as aludel reads huge query args).
fn saturating(field: &str) -> u64 {
    if field.len() > 20 {
        u64::MAX
    } else {
        let n: u128 = field.parse().expect("a number in the fixture");
        u64::try_from(n).unwrap_or(u64::MAX)
    }
}

/// `-` or a JSON string as Python's `json.dumps` writes it.
fn json_arg(field: &str) -> Option<String> {
    if field == "-" {
        return None;
    }
    let inner = field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .expect("a JSON string in the fixture");
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().expect("an escape in the fixture") {
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16).expect("a \\u escape in the fixture");
                out.push(char::from_u32(code).expect("a BMP character"));
            }
            'n' => out.push('\n'),
            't' => out.push('\t'),
            other => out.push(other),
        }
    }
    Some(out)
}

#[test]
fn argument_checks_match_flask_sqlalchemy() {
    for (input, expected) in cases("prepare") {
        let page_arg = json_arg(input[0]);
        let per_page_arg = json_arg(input[1]);
        let max_per_page = opt_num(input[2]);
        let default_per_page = opt_num(input[3]).unwrap_or(20);
        let error_out = input[4] == "true";
        let request = PageRequest::from_query_args(page_arg.as_deref(), per_page_arg.as_deref())
            .with_max_per_page(max_per_page)
            .with_default_per_page(default_per_page)
            .with_error_out(error_out);
        let got = request.validate("user");
        let expected: Vec<&str> = expected.iter().flat_map(|e| e.split(' ')).collect();
        match expected.as_slice() {
            ["404"] => match got {
                Err(Error::NotFound { table, .. }) => assert_eq!(table, "user"),
                other => panic!("{input:?}: expected a 404, got {other:?}"),
            },
            [page, per_page] => {
                let params = got.unwrap_or_else(|e| panic!("{input:?}: {e}"));
                let mut per_page = saturating(per_page);
                // The one deliberate difference: Flask-SQLAlchemy does not
                // cap the default it falls back to; aludel does.
                if let Some(max) = max_per_page {
                    per_page = per_page.min(max);
                }
                assert_eq!(
                    (params.page(), params.per_page()),
                    (saturating(page), per_page),
                    "{input:?}"
                );
            }
            other => panic!("bad fixture line: {other:?}"),
        }
    }
}

fn page_of(total: u64, per_page: u64, page: u64, items: usize) -> Page<()> {
    Page {
        items: vec![(); items],
        total,
        page,
        per_page,
    }
}

#[test]
fn page_properties_match_flask_sqlalchemy() {
    for (input, expected) in cases("props") {
        let items = usize::try_from(num(input[3])).unwrap();
        let p = page_of(num(input[0]), num(input[1]), num(input[2]), items);
        let got = [
            p.pages().to_string(),
            p.has_prev().to_string(),
            p.has_next().to_string(),
            p.prev_num().map_or("-".to_owned(), |n| n.to_string()),
            p.next_num().map_or("-".to_owned(), |n| n.to_string()),
            p.first().to_string(),
            p.last().to_string(),
        ];
        assert_eq!(got.as_slice(), expected.as_slice(), "{input:?}");
    }
}

#[test]
fn iter_pages_matches_flask_sqlalchemy() {
    for (input, expected) in cases("iter_pages") {
        let [total, per_page, page, le, lc, rc, re] = [0, 1, 2, 3, 4, 5, 6].map(|i| num(input[i]));
        let p = page_of(total, per_page, page, 0);
        let got: Vec<String> = p
            .iter_pages(le, lc, rc, re)
            .map(|n| n.map_or(".".to_owned(), |n| n.to_string()))
            .collect();
        let expected: Vec<&str> = expected.first().map_or(vec![], |e| e.split(' ').collect());
        let expected: Vec<&str> = expected.into_iter().filter(|e| !e.is_empty()).collect();
        assert_eq!(got, expected, "{input:?}");
        if (le, lc, rc, re) == (2, 2, 4, 2) {
            assert!(p.iter_pages_default().eq(p.iter_pages(2, 2, 4, 2)));
        }
    }
}

#[test]
fn a_page_past_the_end_is_404_exactly_when_flask_sqlalchemy_says() {
    // Flask-SQLAlchemy: `if not items and page != 1 and error_out: abort(404)`,
    // with the items a consistent select returns.
    for total in 0..40_u64 {
        for per_page in 1..7_u64 {
            for page in 1..15_u64 {
                let items = total.saturating_sub((page - 1) * per_page).min(per_page);
                let flask_404 = items == 0 && page != 1;
                for error_out in [true, false] {
                    let params = PageRequest::new(page, per_page)
                        .with_error_out(error_out)
                        .validate("t")
                        .unwrap();
                    match params.window(total, "t") {
                        Err(e) => {
                            assert!(e.is_not_found() && error_out && flask_404, "{e}");
                        }
                        Ok(None) => assert_eq!(items, 0, "skipped a select with rows"),
                        Ok(Some(Window { offset, limit })) => {
                            assert!(items > 0);
                            assert_eq!((offset, limit), ((page - 1) * per_page, per_page));
                        }
                    }
                    if error_out && flask_404 {
                        assert!(params.window(total, "t").is_err());
                    }
                }
            }
        }
    }
}

#[test]
fn page_one_of_nothing_is_an_empty_page_not_a_404() {
    let params = PageRequest::default().validate("t").unwrap();
    assert_eq!(params.window(0, "t").unwrap(), None);
    let page = params.into_page(Vec::<u8>::new(), 0);
    assert_eq!((page.pages(), page.first(), page.last()), (0, 0, 0));
    assert_eq!(page.iter_pages_default().count(), 0);
    assert!(!page.has_next() && !page.has_prev());
}

#[test]
fn page_ten_to_the_twelfth_never_overflows() {
    let huge = 1_000_000_000_000_u64;
    // Past the end: a 404, or an empty page.
    let strict = PageRequest::new(huge, 100).validate("t").unwrap();
    let err = strict.window(1_000, "t").unwrap_err();
    assert!(err.is_not_found());
    assert!(err.to_string().contains("page 1000000000000"), "{err}");
    let lenient = PageRequest::new(huge, 100)
        .with_error_out(false)
        .validate("t")
        .unwrap();
    assert_eq!(lenient.window(1_000, "t").unwrap(), None);
    let page = lenient.into_page(Vec::<u8>::new(), 1_000);
    assert_eq!((page.prev_num(), page.next_num()), (Some(huge - 1), None));
    // Within a (huge) total the offset is exact.
    assert_eq!(
        strict.window(u64::MAX / 2, "t").unwrap(),
        Some(Window {
            offset: (huge - 1) * 100,
            limit: 100
        })
    );
}

#[test]
fn offsets_past_i64_max_are_errors() {
    for (page, per_page) in [
        (u64::MAX, 100),
        (u64::MAX, 1),
        (1 << 62, 4),
        ((1 << 62) + 1, 2),
    ] {
        let params = PageRequest::new(page, per_page)
            .with_max_per_page(None)
            .with_error_out(false)
            .validate("t")
            .unwrap();
        match params.offset() {
            Err(Error::Query(message)) => assert!(message.contains("offset"), "{message}"),
            other => panic!("page {page} of {per_page}: {other:?}"),
        }
        // Even with a count that big, no window wraps around: it is refused,
        // or the page is past the end.
        assert!(!matches!(params.window(u64::MAX, "t"), Ok(Some(_))));
    }
    let last_ok = PageRequest::new(1 << 62, 2)
        .with_error_out(false)
        .validate("t")
        .unwrap();
    assert_eq!(last_ok.offset().unwrap(), i64::MAX as u64 - 1);
}

#[test]
fn page_methods_saturate_on_extreme_fields() {
    let p = page_of(u64::MAX, 1, u64::MAX, 3);
    assert_eq!(
        (p.first(), p.last(), p.pages()),
        (u64::MAX, u64::MAX, u64::MAX)
    );
    assert_eq!(p.next_num(), None);
    let widget: Vec<_> = p.iter_pages_default().collect();
    assert_eq!(
        widget,
        [
            Some(1),
            Some(2),
            None,
            Some(u64::MAX - 2),
            Some(u64::MAX - 1),
            Some(u64::MAX)
        ]
    );
    let huge_params = page_of(10, 1, 5, 0).iter_pages(u64::MAX, u64::MAX, u64::MAX, u64::MAX);
    assert_eq!(huge_params.count(), 10);
    // A page size of 0 (only by building a Page by hand) means no pages.
    assert_eq!(page_of(10, 0, 1, 0).pages(), 0);
}

#[test]
fn max_and_default_per_page_of_zero_are_refused() {
    let err = PageRequest::new(1, 10)
        .with_max_per_page(Some(0))
        .validate("t")
        .unwrap_err();
    assert!(
        matches!(err, Error::Query(ref m) if m.contains("max_per_page")),
        "{err}"
    );
    let err = PageRequest::default()
        .with_default_per_page(0)
        .validate("t")
        .unwrap_err();
    assert!(
        matches!(err, Error::Query(ref m) if m.contains("default_per_page")),
        "{err}"
    );
}

#[test]
fn request_defaults_are_flask_sqlalchemy_defaults() {
    let request = PageRequest::default();
    assert_eq!(
        (
            request.page(),
            request.per_page(),
            request.default_per_page(),
            request.max_per_page(),
            request.error_out()
        ),
        (1, None, 20, Some(100), true)
    );
    assert_eq!(PageRequest::from_query_args(None, None), request);
    let params = PageRequest::new(2, 500).validate("t").unwrap();
    assert_eq!(
        (params.page(), params.per_page(), params.error_out()),
        (2, 100, true)
    );
}

#[test]
fn pages_iterate_and_map_their_items() {
    let params = PageRequest::new(2, 3).validate("t").unwrap();
    let page = params.into_page(vec![4, 5, 6], 7);
    assert_eq!((&page).into_iter().sum::<i32>(), 15);
    assert_eq!(page.iter().count(), 3);
    let labels = page.map(|n| format!("#{n}"));
    assert_eq!((labels.first(), labels.last(), labels.pages()), (4, 6, 3));
    assert_eq!(labels.into_iter().collect::<Vec<_>>(), ["#4", "#5", "#6"]);
}
