//! One renderer from statements to SQL text and bound values, asking the
//! [`Dialect`] at every choice. Values are always bound, never written into the text.

use crate::error::{Error, Result};
use crate::query::expr::{CmpOp, Expr};
use crate::query::select::SelectSpec;
use crate::schema::Table;
use crate::sql::Dialect;
pub(crate) use crate::sql::Statement;
use crate::value::{SqlType, Value};

/// A statement being written: text plus the values bound so far.
struct Writer<'d> {
    dialect: &'d dyn Dialect,
    sql: String,
    params: Vec<Value>,
}

impl<'d> Writer<'d> {
    fn new(dialect: &'d dyn Dialect) -> Self {
        Writer {
            dialect,
            sql: String::with_capacity(128),
            params: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    fn ident(&mut self, name: &str) {
        self.dialect.write_identifier(&mut self.sql, name);
    }

    fn bind(&mut self, value: Value) {
        self.params.push(value);
        self.dialect
            .write_placeholder(&mut self.sql, self.params.len());
    }

    fn column_list(&mut self, table: &Table) {
        for (i, column) in table.columns.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.ident(column.name);
        }
    }

    /// The statement, refused when it binds more values than the database
    /// takes in one statement: the one check every statement built from
    /// user input (filters, `IN` lists) passes before it is sent.
    fn finish_checked(self) -> Result<Statement> {
        let dialect = self.dialect;
        let statement = self.finish();
        check_bind_count(dialect, &statement)?;
        Ok(statement)
    }

    fn finish(self) -> Statement {
        Statement {
            sql: self.sql.into(),
            params: self.params,
            returns_generated_key: false,
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Compare { column, op, value } => {
                let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
                let cast = match value {
                    Value::Decimal(_) if ordering => self.dialect.decimal_order_cast(),
                    _ => None,
                };
                self.cast(cast, |w| w.ident(column));
                self.push(" ");
                self.push(op.sql());
                self.push(" ");
                self.cast(cast, |w| w.bind(value.clone()));
            }
            Expr::IsNull { column, negated } => {
                self.ident(column);
                self.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            Expr::In { column, values } if values.is_empty() => {
                // `IN ()` is a syntax error on most databases; an empty list matches nothing.
                let _ = column;
                self.push("1 = 0");
            }
            Expr::In { column, values } => {
                self.ident(column);
                self.push(" IN (");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.bind(value.clone());
                }
                self.push(")");
            }
            Expr::Like { column, pattern } => {
                self.ident(column);
                self.push(" LIKE ");
                self.bind(pattern.clone());
                self.push(self.dialect.like_escape());
            }
            Expr::And(parts) => self.junction(parts, " AND ", "1 = 1"),
            Expr::Or(parts) => self.junction(parts, " OR ", "1 = 0"),
            Expr::Not(inner) => {
                self.push("NOT (");
                self.expr(inner);
                self.push(")");
            }
        }
    }

    /// Writes `inner` inside `CAST(... AS ty)` when `ty` is given.
    fn cast(&mut self, ty: Option<&str>, inner: impl FnOnce(&mut Self)) {
        if let Some(ty) = ty {
            self.push("CAST(");
            inner(self);
            self.push(" AS ");
            self.push(ty);
            self.push(")");
        } else {
            inner(self);
        }
    }

    fn junction(&mut self, parts: &[Expr], joiner: &str, empty: &str) {
        if parts.is_empty() {
            self.push(empty);
            return;
        }
        self.push("(");
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.push(joiner);
            }
            self.expr(part);
        }
        self.push(")");
    }

    fn where_clause(&mut self, filter: Option<&Expr>) {
        if let Some(filter) = filter {
            self.push(" WHERE ");
            self.expr(filter);
        }
    }

    fn key_in(&mut self, table: &Table, keys: &[Value]) {
        self.push(" WHERE ");
        self.ident(table.key_column().name);
        if let [key] = keys {
            self.push(" = ");
            self.bind(key.clone());
        } else {
            self.push(" IN (");
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.bind(key.clone());
            }
            self.push(")");
        }
    }
}

/// `SELECT <columns> FROM <table> [WHERE] [ORDER BY] [LIMIT/OFFSET]`.
///
/// # Errors
/// [`Error::Query`] when the filter binds more values than the database
/// takes in one statement.
pub fn select(dialect: &dyn Dialect, table: &Table, spec: &SelectSpec) -> Result<Statement> {
    let mut w = Writer::new(dialect);
    w.push("SELECT ");
    w.column_list(table);
    w.push(" FROM ");
    w.ident(table.name);
    w.where_clause(spec.filter.as_ref());
    for (i, (column, descending)) in spec.order.iter().enumerate() {
        w.push(if i == 0 { " ORDER BY " } else { ", " });
        let cast = match table.column(column) {
            Some((_, def)) if def.sql_type == SqlType::Decimal => dialect.decimal_order_cast(),
            _ => None,
        };
        w.cast(cast, |w| w.ident(column));
        w.push(if *descending { " DESC" } else { " ASC" });
    }
    dialect.write_limit_offset(&mut w.sql, spec.limit, spec.offset);
    w.finish_checked()
}

/// Fails before anything is sent when `statement` binds more values than
/// the database takes in one statement (an `IN` list of a hundred thousand
/// values, say), instead of letting the driver fail with the whole SQL text.
fn check_bind_count(dialect: &dyn Dialect, statement: &Statement) -> Result<()> {
    let max = dialect.max_bind_parameters();
    if statement.params.len() > max {
        return Err(Error::Query(format!(
            "the statement binds {} values; {} takes at most {max} per statement (split long IN lists)",
            statement.params.len(),
            dialect.name()
        )));
    }
    Ok(())
}

/// `SELECT COUNT(*) FROM <table> [WHERE]`.
///
/// # Errors
/// As [`select`].
pub fn count(dialect: &dyn Dialect, table: &Table, spec: &SelectSpec) -> Result<Statement> {
    let mut w = Writer::new(dialect);
    w.push("SELECT COUNT(*) FROM ");
    w.ident(table.name);
    w.where_clause(spec.filter.as_ref());
    w.finish_checked()
}

/// `SELECT <columns> FROM <table> WHERE <key> IN (...)`.
pub fn select_by_keys(dialect: &dyn Dialect, table: &Table, keys: &[Value]) -> Statement {
    let mut w = Writer::new(dialect);
    w.push("SELECT ");
    w.column_list(table);
    w.push(" FROM ");
    w.ident(table.name);
    w.key_in(table, keys);
    w.finish()
}

/// A multi-row `INSERT`. With `generated_key`, the key column is left out
/// and returned: with `RETURNING` where the dialect has it; otherwise `rows`
/// must hold one row, and the statement asks the backend for the generated key.
///
/// Each row holds one value per column of `table`.
pub fn insert(
    dialect: &dyn Dialect,
    table: &Table,
    rows: &[&[Value]],
    generated_key: bool,
) -> Statement {
    let skip = generated_key.then_some(table.primary_key);
    let mut w = Writer::new(dialect);
    w.push("INSERT INTO ");
    w.ident(table.name);
    w.push(" (");
    let mut first = true;
    for (i, column) in table.columns.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        if !first {
            w.push(", ");
        }
        first = false;
        w.ident(column.name);
    }
    w.push(") VALUES ");
    for (r, row) in rows.iter().enumerate() {
        w.push(if r == 0 { "(" } else { ", (" });
        let mut first = true;
        for (i, value) in row.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            if !first {
                w.push(", ");
            }
            first = false;
            w.bind(value.clone());
        }
        w.push(")");
    }
    let returning = generated_key && dialect.supports_returning();
    if returning {
        w.push(" RETURNING ");
        w.ident(table.key_column().name);
    }
    let mut statement = w.finish();
    statement.returns_generated_key = generated_key && !returning;
    statement
}

/// How many rows of `table` one multi-row `INSERT` may carry under the
/// dialect's bind-parameter limit.
pub fn insert_rows_per_statement(
    dialect: &dyn Dialect,
    table: &Table,
    generated_key: bool,
) -> usize {
    if generated_key && !dialect.supports_returning() {
        // Without RETURNING only a single-row INSERT tells which key it got:
        // keys of a multi-row INSERT need not be consecutive.
        return 1;
    }
    let per_row = table.columns.len() - usize::from(generated_key);
    (dialect.max_bind_parameters() / per_row.max(1)).clamp(1, MAX_ROWS_PER_INSERT)
}

/// Rows per multi-row INSERT at most, whatever the bind limit allows: bigger
/// statements are no faster, take long to prepare, and a statement cache
/// holding a few of them holds megabytes.
const MAX_ROWS_PER_INSERT: usize = 1_000;

/// `UPDATE <table> SET <changed columns> WHERE <key> = ?`.
pub fn update(
    dialect: &dyn Dialect,
    table: &Table,
    key: &Value,
    changed: &[(usize, Value)],
) -> Statement {
    let mut w = Writer::new(dialect);
    w.push("UPDATE ");
    w.ident(table.name);
    w.push(" SET ");
    for (n, (index, value)) in changed.iter().enumerate() {
        if n > 0 {
            w.push(", ");
        }
        w.ident(table.columns[*index].name);
        w.push(" = ");
        w.bind(value.clone());
    }
    w.key_in(table, std::slice::from_ref(key));
    w.finish()
}

/// `DELETE FROM <table> WHERE <key> IN (...)`.
pub fn delete(dialect: &dyn Dialect, table: &Table, keys: &[Value]) -> Statement {
    let mut w = Writer::new(dialect);
    w.push("DELETE FROM ");
    w.ident(table.name);
    w.key_in(table, keys);
    w.finish()
}

/// `CREATE TABLE IF NOT EXISTS` for `table`.
pub fn create_table(dialect: &dyn Dialect, table: &Table) -> Statement {
    let mut w = Writer::new(dialect);
    w.push("CREATE TABLE IF NOT EXISTS ");
    w.ident(table.name);
    w.push(" (");
    for (i, column) in table.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.ident(column.name);
        w.push(" ");
        if column.primary_key && column.auto_increment {
            w.push(&dialect.generated_key_clause(column.sql_type));
            continue;
        }
        w.push(if column.primary_key || column.unique {
            dialect.indexed_type_name(column.sql_type)
        } else {
            dialect.type_name(column.sql_type)
        });
        if column.primary_key {
            w.push(" PRIMARY KEY");
        } else if column.unique {
            w.push(" UNIQUE");
        }
        if !column.nullable {
            w.push(" NOT NULL");
        }
    }
    w.push(")");
    w.push(dialect.create_table_suffix());
    w.finish()
}

/// `DROP TABLE IF EXISTS` for `table`.
pub fn drop_table(dialect: &dyn Dialect, table: &Table) -> Statement {
    let mut w = Writer::new(dialect);
    w.push("DROP TABLE IF EXISTS ");
    w.ident(table.name);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnDef;
    use crate::sql::SqliteDialect;
    use crate::value::SqlType;

    #[test]
    fn inserts_are_split_under_the_row_cap_and_the_bind_limit() {
        const fn column(name: &'static str) -> ColumnDef {
            ColumnDef {
                name,
                sql_type: SqlType::Text,
                nullable: true,
                unique: false,
                primary_key: false,
                auto_increment: false,
            }
        }
        static NARROW: [ColumnDef; 2] = [column("a"), column("b")];
        static WIDE: [ColumnDef; 100] = [column("c"); 100];
        let narrow = Table {
            name: "n",
            columns: &NARROW,
            primary_key: 0,
        };
        let wide = Table {
            name: "w",
            columns: &WIDE,
            primary_key: 0,
        };
        assert_eq!(
            insert_rows_per_statement(&SqliteDialect, &narrow, false),
            MAX_ROWS_PER_INSERT
        );
        assert_eq!(
            insert_rows_per_statement(&SqliteDialect, &wide, false),
            32_766 / 100
        );
    }
}
