use std::collections::HashMap;

use aludel::Model;

#[derive(Model)]
struct Settings {
    id: i64,
    level: u8,
    values: HashMap<String, String>,
}

fn main() {}
