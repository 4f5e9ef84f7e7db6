//! `#[aludel(column = "...")]` renames the column; the constant keeps the field's name.
use aludel::Model;

#[derive(Model)]
struct Account {
    #[aludel(primary_key, column = "account_id")]
    id: i64,
    #[aludel(column = "e-mail", unique)]
    email: String,
    #[aludel(column = "kind")]
    r#type: String,
    // A raw identifier maps to the plain name, for the column and the constant.
    r#match: Option<String>,
}

fn main() {
    let columns: Vec<&str> = Account::TABLE.columns.iter().map(|c| c.name).collect();
    assert_eq!(columns, ["account_id", "e-mail", "kind", "match"]);
    assert_eq!(Account::ID.name(), "account_id");
    assert_eq!(Account::EMAIL.name(), "e-mail");
    assert_eq!(Account::TYPE.name(), "kind");
    assert_eq!(Account::MATCH.name(), "match");
    assert!(Account::TABLE.columns[1].unique);
}
