//! `unique` on the primary key is redundant, and accepted.
use aludel::Model;

#[derive(Model)]
struct Country {
    #[aludel(primary_key, unique)]
    code: String,
    name: String,
}

fn main() {
    let key = Country::TABLE.key_column();
    assert!(key.primary_key && key.unique);
}
