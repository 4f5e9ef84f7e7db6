use aludel::Model;

#[derive(Model)]
struct User {
    id: i64,
    name: String,
    #[aludel(column = "name")]
    display_name: String,
}

#[derive(Model)]
#[allow(non_snake_case)]
struct Clash {
    id: i64,
    userName: String,
    username: String,
}

fn main() {}
