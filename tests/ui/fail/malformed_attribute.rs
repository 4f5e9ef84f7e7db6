use aludel::Model;

#[derive(Model)]
#[aludel(table = users)]
struct User {
    #[aludel(primary_key = true)]
    id: i64,
    #[aludel(unique(yes))]
    username: String,
    #[aludel(column)]
    email: Option<String>,
    #[aludel(column = 42)]
    age: i32,
    #[aludel]
    bio: String,
    #[aludel = "x"]
    site: String,
    #[aludel(unique, unique)]
    login: String,
}

#[derive(Model)]
#[aludel(table = "a", table = "b")]
struct Twice {
    #[aludel(column = "x")]
    #[aludel(column = "y")]
    id: i64,
}

fn main() {}
