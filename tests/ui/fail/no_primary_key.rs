use aludel::Model;

#[derive(Model)]
struct Note {
    user_id: i64,
    text: String,
}

#[derive(Model)]
struct Empty {}

fn main() {}
