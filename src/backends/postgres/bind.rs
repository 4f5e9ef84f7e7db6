//! Values out: how each parameter type takes aludel's [`Value`]s, the checks
//! made before anything is sent (type, range, NUL bytes, decimal text), the
//! parameter types of unnamed statements, and [`Bind`], the `ToSql` that
//! writes a value in PostgreSQL's binary format (text format for decimals,
//! and for text bound to a parameter that is not text).

use std::error::Error as StdError;
use std::fmt;
use std::sync::OnceLock;

use tokio_postgres::types::{IsNull, Kind, ToSql, Type};
// tokio-postgres' `ToSql` writes into `bytes::BytesMut`; postgres-types
// re-exports it, which spares aludel a direct dependency on `bytes`.
use tokio_postgres::types::private::BytesMut;

use super::decode::column_names;
use super::plan::Plan;
use super::temporal::{date_to_pg, time_fits, timestamp_to_pg};
use crate::error::{Error, Result};
use crate::sql::Statement;
use crate::value::Value;
use crate::value::temporal;

/// How a parameter type takes aludel's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamType {
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Bool,
    /// Takes text as is, in binary (`text`, `varchar`, `bpchar`, `name`, enums, ...).
    TextLike,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Uuid,
    Json,
    Jsonb,
    /// Anything else: text is sent in text format for the server to parse.
    Other,
}

fn param_type(ty: &Type) -> ParamType {
    match ty.kind() {
        Kind::Domain(inner) => return param_type(inner),
        Kind::Enum(_) => return ParamType::TextLike,
        _ => {}
    }
    let known = [
        (Type::INT2, ParamType::Int2),
        (Type::INT4, ParamType::Int4),
        (Type::INT8, ParamType::Int8),
        (Type::OID, ParamType::Oid),
        (Type::FLOAT4, ParamType::Float4),
        (Type::FLOAT8, ParamType::Float8),
        (Type::NUMERIC, ParamType::Numeric),
        (Type::BOOL, ParamType::Bool),
        (Type::TEXT, ParamType::TextLike),
        (Type::VARCHAR, ParamType::TextLike),
        (Type::BPCHAR, ParamType::TextLike),
        (Type::NAME, ParamType::TextLike),
        (Type::UNKNOWN, ParamType::TextLike),
        (Type::BYTEA, ParamType::Bytea),
        (Type::DATE, ParamType::Date),
        (Type::TIME, ParamType::Time),
        (Type::TIMESTAMP, ParamType::Timestamp),
        (Type::TIMESTAMPTZ, ParamType::TimestampTz),
        (Type::UUID, ParamType::Uuid),
        (Type::JSON, ParamType::Json),
        (Type::JSONB, ParamType::Jsonb),
    ];
    match known.iter().find(|(t, _)| t == ty) {
        Some((_, class)) => *class,
        None if ty.name() == "citext" => ParamType::TextLike,
        None => ParamType::Other,
    }
}

fn param_type_name(class: ParamType) -> &'static str {
    match class {
        ParamType::Int2 => "smallint",
        ParamType::Int4 => "integer",
        ParamType::Int8 => "bigint",
        ParamType::Oid => "oid",
        ParamType::Float4 => "real",
        ParamType::Float8 => "double precision",
        ParamType::Numeric => "numeric",
        ParamType::Bool => "boolean",
        ParamType::TextLike => "text",
        ParamType::Bytea => "bytea",
        ParamType::Date => "date",
        ParamType::Time => "time",
        ParamType::Timestamp => "timestamp",
        ParamType::TimestampTz => "timestamptz",
        ParamType::Uuid => "uuid",
        ParamType::Json => "json",
        ParamType::Jsonb => "jsonb",
        ParamType::Other => "a value of the parameter's type",
    }
}

/// Why a value cannot be bound to a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BindProblem {
    Mismatch,
    OutOfRange,
    Nul,
    /// A decimal whose text is not a number.
    Malformed,
}

/// Whether `value` can be bound to a parameter of type `ty`.
fn bind_problem(value: &Value, ty: &Type) -> Option<BindProblem> {
    let class = param_type(ty);
    let fits = |ok: bool| (!ok).then_some(BindProblem::OutOfRange);
    match value {
        Value::Null => None,
        Value::Bool(_) => (class != ParamType::Bool).then_some(BindProblem::Mismatch),
        Value::I32(_) | Value::I64(_) => {
            let v = match value {
                Value::I32(v) => i64::from(*v),
                Value::I64(v) => *v,
                _ => 0,
            };
            match class {
                ParamType::Int2 => fits(i16::try_from(v).is_ok()),
                ParamType::Int4 => fits(i32::try_from(v).is_ok()),
                ParamType::Oid => fits(u32::try_from(v).is_ok()),
                ParamType::Int8 | ParamType::Float4 | ParamType::Float8 | ParamType::Numeric => {
                    None
                }
                _ => Some(BindProblem::Mismatch),
            }
        }
        Value::F64(v) => match class {
            ParamType::Float8 | ParamType::Numeric => None,
            ParamType::Float4 => fits(!v.is_finite() || v.abs() <= f64::from(f32::MAX)),
            _ => Some(BindProblem::Mismatch),
        },
        Value::Text(text) if text.contains('\0') => Some(BindProblem::Nul),
        Value::Text(_) => (class == ParamType::Bytea).then_some(BindProblem::Mismatch),
        Value::Blob(_) => (class != ParamType::Bytea).then_some(BindProblem::Mismatch),
        Value::Date(days) => match class {
            ParamType::Date => fits(date_to_pg(*days).is_some()),
            _ => Some(BindProblem::Mismatch),
        },
        Value::Time(micros) => match class {
            ParamType::Time => fits(time_fits(*micros)),
            _ => Some(BindProblem::Mismatch),
        },
        Value::DateTime(micros) | Value::Timestamp(micros) => match class {
            ParamType::Timestamp | ParamType::TimestampTz => {
                fits(timestamp_to_pg(*micros).is_some())
            }
            _ => Some(BindProblem::Mismatch),
        },
        Value::Uuid(_) => (class != ParamType::Uuid).then_some(BindProblem::Mismatch),
        Value::Json(text) => match class {
            // JSON escapes NUL (`\u0000`); a raw one is not JSON, and
            // PostgreSQL text cannot hold it.
            ParamType::Json | ParamType::Jsonb if text.contains('\0') => Some(BindProblem::Nul),
            ParamType::Json | ParamType::Jsonb => None,
            _ => Some(BindProblem::Mismatch),
        },
        Value::Decimal(text) => match class {
            // Sent in text format, which the server reads only up to a NUL:
            // anything but a plain number could be read as another one.
            ParamType::Numeric => (!is_decimal_text(text)).then_some(BindProblem::Malformed),
            _ => Some(BindProblem::Mismatch),
        },
    }
}

/// Whether `text` is a decimal as [`Value::Decimal`] documents it (an
/// optional `-`, digits, optionally `.` and digits; a digit on at least one
/// side of the point), or `NaN`, `Infinity`, `-Infinity` in any case.
fn is_decimal_text(text: &str) -> bool {
    if ["nan", "infinity", "-infinity"]
        .iter()
        .any(|special| text.eq_ignore_ascii_case(special))
    {
        return true;
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty())
}

fn bind_error(index: usize, value: &Value, ty: &Type, problem: BindProblem) -> Error {
    let column = format!("parameter ${}", index + 1);
    match problem {
        BindProblem::Nul => Error::Conversion {
            column,
            expected: "text without NUL bytes (PostgreSQL text cannot hold them; store bytes as a Vec<u8> / bytea)",
            found: "text containing a NUL byte".into(),
        },
        BindProblem::OutOfRange => Error::Conversion {
            column,
            expected: param_type_name(param_type(ty)),
            found: match value {
                Value::I32(v) => format!("the integer {v}, out of range"),
                Value::I64(v) => format!("the integer {v}, out of range"),
                Value::F64(v) => format!("the float {v}, out of range"),
                Value::Date(days) => {
                    // From the day number: `temporal::to_text` takes dates
                    // through microseconds, which the far ones overflow.
                    let (year, month, day) = temporal::civil_from_days(i64::from(*days));
                    format!(
                        "the date {year:04}-{month:02}-{day:02}, out of range \
                         (PostgreSQL's dates run from 4713-11-24 BC to 5874897-12-31)"
                    )
                }
                Value::DateTime(_) | Value::Timestamp(_) => format!(
                    "{} {}, out of range (PostgreSQL's timestamps run from 4713-11-24 BC to 294276-12-31)",
                    value.kind(),
                    temporal::to_text(value).unwrap_or_default()
                ),
                Value::Time(micros) => format!(
                    "the time of day {micros} µs after midnight, out of range (00:00:00 to 24:00:00)"
                ),
                other => other.kind().to_owned(),
            },
        },
        BindProblem::Malformed => Error::Conversion {
            column,
            expected: "decimal text: an optional `-`, digits, optionally `.` and digits; or NaN, Infinity, -Infinity",
            found: format!("{} that is not a number", value.kind()),
        },
        BindProblem::Mismatch => Error::Conversion {
            column,
            expected: param_type_name(param_type(ty)),
            found: format!("{} (the parameter's type is `{}`)", value.kind(), ty.name()),
        },
    }
}

/// Checks the values of `statement` against its plan before anything is sent.
pub(super) fn check_statement(statement: &Statement, plan: &Plan) -> Result<()> {
    match plan {
        Plan::Prepared(prepared) => {
            let types = prepared.params();
            if types.len() != statement.params.len() {
                return Err(Error::Query(format!(
                    "the statement has {} parameters, but {} values were bound",
                    types.len(),
                    statement.params.len()
                )));
            }
            for (index, (value, ty)) in statement.params.iter().zip(types).enumerate() {
                if let Some(problem) = bind_problem(value, ty) {
                    return Err(bind_error(index, value, ty, problem));
                }
            }
            column_names(prepared.columns()).map(drop)
        }
        Plan::Unnamed => {
            for (index, value) in statement.params.iter().enumerate() {
                let ty = unnamed_type(value);
                if let Some(problem) = bind_problem(value, &ty) {
                    return Err(bind_error(index, value, &ty, problem));
                }
            }
            Ok(())
        }
    }
}

/// The parameter type sent with an unnamed statement: the value's own, or
/// none (OID 0) for the server to infer, for text and NULL.
pub(super) fn unnamed_type(value: &Value) -> Type {
    static UNSPECIFIED: OnceLock<Type> = OnceLock::new();
    match value {
        Value::Bool(_) => Type::BOOL,
        Value::I32(_) => Type::INT4,
        Value::I64(_) => Type::INT8,
        Value::F64(_) => Type::FLOAT8,
        Value::Blob(_) => Type::BYTEA,
        Value::Date(_) => Type::DATE,
        Value::Time(_) => Type::TIME,
        Value::DateTime(_) => Type::TIMESTAMP,
        Value::Timestamp(_) => Type::TIMESTAMPTZ,
        Value::Uuid(_) => Type::UUID,
        Value::Json(_) => Type::JSONB,
        Value::Decimal(_) => Type::NUMERIC,
        Value::Null | Value::Text(_) => UNSPECIFIED
            .get_or_init(|| Type::new("unspecified".into(), 0, Kind::Pseudo, "pg_catalog".into()))
            .clone(),
    }
}

/// A [`Value`] bound to a parameter, converted to the parameter's type.
pub(super) struct Bind<'a>(pub(super) &'a Value);

impl fmt::Debug for Bind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tokio-postgres logs parameters at debug level: never the value.
        write!(f, "<{}>", self.0.kind())
    }
}

impl ToSql for Bind<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        if let Some(problem) = bind_problem(self.0, ty) {
            return Err(Box::new(bind_error(0, self.0, ty, problem)));
        }
        // Unreachable after `bind_problem`; kept so that a range is never
        // assumed.
        let out_of_range = || Box::new(bind_error(0, self.0, ty, BindProblem::OutOfRange));
        let class = param_type(ty);
        let int = |v: i64, out: &mut BytesMut| match class {
            ParamType::Int2 => i16::try_from(v)
                .unwrap_or_default()
                .to_sql(&Type::INT2, out),
            ParamType::Int4 => i32::try_from(v)
                .unwrap_or_default()
                .to_sql(&Type::INT4, out),
            ParamType::Oid => u32::try_from(v).unwrap_or_default().to_sql(&Type::OID, out),
            ParamType::Float4 => (v as f32).to_sql(&Type::FLOAT4, out),
            ParamType::Float8 => (v as f64).to_sql(&Type::FLOAT8, out),
            ParamType::Numeric => {
                out.extend_from_slice(v.to_string().as_bytes());
                Ok(IsNull::No)
            }
            _ => v.to_sql(&Type::INT8, out),
        };
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(v) => v.to_sql(&Type::BOOL, out),
            Value::I32(v) => int(i64::from(*v), out),
            Value::I64(v) => int(*v, out),
            Value::F64(v) => match class {
                ParamType::Float4 => (*v as f32).to_sql(&Type::FLOAT4, out),
                ParamType::Numeric => {
                    out.extend_from_slice(numeric_text(*v).as_bytes());
                    Ok(IsNull::No)
                }
                _ => v.to_sql(&Type::FLOAT8, out),
            },
            // The same bytes in binary (text types) and text format (others).
            Value::Text(v) => {
                out.extend_from_slice(v.as_bytes());
                Ok(IsNull::No)
            }
            Value::Blob(v) => {
                out.extend_from_slice(v);
                Ok(IsNull::No)
            }
            Value::Date(days) => {
                let days = date_to_pg(*days).ok_or_else(out_of_range)?;
                out.extend_from_slice(&days.to_be_bytes());
                Ok(IsNull::No)
            }
            Value::Time(micros) => {
                out.extend_from_slice(&micros.to_be_bytes());
                Ok(IsNull::No)
            }
            Value::DateTime(micros) | Value::Timestamp(micros) => {
                let micros = timestamp_to_pg(*micros).ok_or_else(out_of_range)?;
                out.extend_from_slice(&micros.to_be_bytes());
                Ok(IsNull::No)
            }
            Value::Uuid(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            Value::Json(text) => {
                if class == ParamType::Jsonb {
                    // jsonb's binary format: a version byte, then the text.
                    out.extend_from_slice(&[1]);
                }
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            // Sent in text format (see `encode_format`): the server parses
            // it, so every digit arrives.
            Value::Decimal(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql` (and before sending, in `check_statement`).
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        self.to_sql(ty, out)
    }

    fn encode_format(&self, ty: &Type) -> tokio_postgres::types::Format {
        use tokio_postgres::types::Format;
        let class = param_type(ty);
        match self.0 {
            Value::Text(_) if class != ParamType::TextLike => Format::Text,
            Value::I32(_) | Value::I64(_) | Value::F64(_) if class == ParamType::Numeric => {
                Format::Text
            }
            Value::Decimal(_) => Format::Text,
            _ => Format::Binary,
        }
    }
}

/// A float as `numeric` input text.
fn numeric_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        // `{:?}` is the shortest text that reads back as the same float.
        format!("{v:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::temporal::PG_EPOCH_MICROS;
    use super::*;
    use crate::value::temporal::MICROS_PER_DAY;

    #[test]
    fn values_are_checked_against_parameter_types() {
        assert_eq!(
            bind_problem(&Value::I64(70_000), &Type::INT2),
            Some(BindProblem::OutOfRange)
        );
        assert_eq!(bind_problem(&Value::I64(7), &Type::INT2), None);
        assert_eq!(bind_problem(&Value::I32(7), &Type::INT8), None);
        assert_eq!(
            bind_problem(&Value::Text("a\0b".into()), &Type::TEXT),
            Some(BindProblem::Nul)
        );
        assert_eq!(
            bind_problem(&Value::Text("x".into()), &Type::BYTEA),
            Some(BindProblem::Mismatch)
        );
        assert_eq!(
            bind_problem(&Value::Blob(vec![0]), &Type::TEXT),
            Some(BindProblem::Mismatch)
        );
        assert_eq!(bind_problem(&Value::Null, &Type::BYTEA), None);
        assert_eq!(
            bind_problem(&Value::F64(1e300), &Type::FLOAT4),
            Some(BindProblem::OutOfRange)
        );
    }

    #[test]
    fn dates_times_uuids_json_and_decimals_bind_to_their_own_types() {
        #[rustfmt::skip]
        let cases: &[(Value, &Type, Option<BindProblem>)] = &[
            (Value::Date(0), &Type::DATE, None),
            (
                Value::Date(0),
                &Type::TIMESTAMP,
                Some(BindProblem::Mismatch),
            ),
            (Value::Date(0), &Type::TEXT, Some(BindProblem::Mismatch)),
            (Value::Time(0), &Type::TIME, None),
            (Value::Time(MICROS_PER_DAY), &Type::TIME, None),
            (
                Value::Time(MICROS_PER_DAY + 1),
                &Type::TIME,
                Some(BindProblem::OutOfRange),
            ),
            (Value::Time(-1), &Type::TIME, Some(BindProblem::OutOfRange)),
            (Value::Time(0), &Type::TIMETZ, Some(BindProblem::Mismatch)),
            (Value::DateTime(0), &Type::TIMESTAMP, None),
            (Value::DateTime(0), &Type::TIMESTAMPTZ, None),
            (Value::Timestamp(0), &Type::TIMESTAMP, None),
            (Value::Timestamp(0), &Type::TIMESTAMPTZ, None),
            (
                Value::Timestamp(0),
                &Type::DATE,
                Some(BindProblem::Mismatch),
            ),
            (
                Value::Timestamp(i64::MIN),
                &Type::TIMESTAMPTZ,
                Some(BindProblem::OutOfRange),
            ),
            (Value::Uuid([0; 16]), &Type::UUID, None),
            (
                Value::Uuid([0; 16]),
                &Type::TEXT,
                Some(BindProblem::Mismatch),
            ),
            (Value::Json("{}".into()), &Type::JSON, None),
            (Value::Json("{}".into()), &Type::JSONB, None),
            (
                Value::Json("{}".into()),
                &Type::TEXT,
                Some(BindProblem::Mismatch),
            ),
            (
                Value::Json("\"\0\"".into()),
                &Type::JSONB,
                Some(BindProblem::Nul),
            ),
            (Value::Decimal("-12.340".into()), &Type::NUMERIC, None),
            (Value::Decimal(".5".into()), &Type::NUMERIC, None),
            (Value::Decimal("NaN".into()), &Type::NUMERIC, None),
            (Value::Decimal("-Infinity".into()), &Type::NUMERIC, None),
            (
                Value::Decimal("1\0".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal("1e5".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal("-".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal(".".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal("".into()),
                &Type::NUMERIC,
                Some(BindProblem::Malformed),
            ),
            (
                Value::Decimal("1".into()),
                &Type::TEXT,
                Some(BindProblem::Mismatch),
            ),
            (
                Value::Decimal("1".into()),
                &Type::FLOAT8,
                Some(BindProblem::Mismatch),
            ),
            // Text goes to any type but bytea, in text format, for the server to parse.
            (Value::Text("2024-02-29".into()), &Type::DATE, None),
            (Value::Text("{}".into()), &Type::JSONB, None),
        ];
        for (value, ty, problem) in cases {
            assert_eq!(bind_problem(value, ty), *problem, "{value:?} as {ty}");
        }
        let error = bind_error(0, &Value::Time(-1), &Type::TIME, BindProblem::OutOfRange);
        assert!(error.to_string().contains("out of range"), "{error}");
        let error = bind_error(1, &Value::Uuid([0; 16]), &Type::TEXT, BindProblem::Mismatch);
        let shown = error.to_string();
        assert!(
            shown.contains("parameter $2") && shown.contains("UUID") && shown.contains("`text`"),
            "{shown}"
        );
    }

    #[test]
    fn values_encode_in_postgres_binary_formats() {
        use tokio_postgres::types::Format;
        // The bytes, and whether they are in text format.
        let encode = |value: Value, ty: &Type| {
            let mut out = BytesMut::new();
            let bind = Bind(&value);
            let text = matches!(bind.encode_format(ty), Format::Text);
            bind.to_sql(ty, &mut out).map(|_| (out.to_vec(), text)).ok()
        };
        let binary = |bytes: &[u8]| Some((bytes.to_vec(), false));
        assert_eq!(
            encode(Value::Date(0), &Type::DATE),
            binary(&(-10_957i32).to_be_bytes())
        );
        assert_eq!(
            encode(Value::Time(MICROS_PER_DAY), &Type::TIME),
            binary(&MICROS_PER_DAY.to_be_bytes())
        );
        assert_eq!(
            encode(Value::Timestamp(PG_EPOCH_MICROS + 1), &Type::TIMESTAMPTZ),
            binary(&1i64.to_be_bytes())
        );
        assert_eq!(
            encode(Value::DateTime(-1), &Type::TIMESTAMP),
            binary(&(-PG_EPOCH_MICROS - 1).to_be_bytes())
        );
        assert_eq!(encode(Value::Uuid([7; 16]), &Type::UUID), binary(&[7; 16]));
        assert_eq!(
            encode(Value::Json("[1]".into()), &Type::JSONB),
            binary(b"\x01[1]")
        );
        assert_eq!(
            encode(Value::Json("[1]".into()), &Type::JSON),
            binary(b"[1]")
        );
        assert_eq!(
            encode(Value::Decimal("-0.50".into()), &Type::NUMERIC),
            Some((b"-0.50".to_vec(), true))
        );
        assert_eq!(encode(Value::Date(i32::MAX), &Type::DATE), None);
        assert_eq!(encode(Value::Uuid([7; 16]), &Type::TEXT), None);

        assert_eq!(unnamed_type(&Value::Date(0)), Type::DATE);
        assert_eq!(unnamed_type(&Value::Time(0)), Type::TIME);
        assert_eq!(unnamed_type(&Value::DateTime(0)), Type::TIMESTAMP);
        assert_eq!(unnamed_type(&Value::Timestamp(0)), Type::TIMESTAMPTZ);
        assert_eq!(unnamed_type(&Value::Uuid([0; 16])), Type::UUID);
        assert_eq!(unnamed_type(&Value::Json("1".into())), Type::JSONB);
        assert_eq!(unnamed_type(&Value::Decimal("1".into())), Type::NUMERIC);
    }
}
