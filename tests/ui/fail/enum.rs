use aludel::Model;

#[derive(Model)]
enum Status {
    Active,
    Banned,
}

#[derive(Model)]
union Bits {
    id: i64,
    real: f64,
}

fn main() {}
