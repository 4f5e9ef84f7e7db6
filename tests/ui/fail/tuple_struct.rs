use aludel::Model;

#[derive(Model)]
struct Point(i64, String);

fn main() {}
