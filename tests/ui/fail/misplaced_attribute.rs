use aludel::Model;

#[derive(Model)]
#[aludel(primary_key)]
struct User {
    id: i64,
    #[aludel(table = "users")]
    username: String,
}

fn main() {}
