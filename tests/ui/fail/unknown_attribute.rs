use aludel::Model;

#[derive(Model)]
#[aludel(tabel = "users")]
struct User {
    #[aludel(primary)]
    id: i64,
    #[aludel(unique, index)]
    username: String,
    #[aludel(serde::rename = "x")]
    email: Option<String>,
}

fn main() {}
