use aludel::Model;

#[derive(Model)]
struct Measurement {
    #[aludel(primary_key)]
    at: f64,
    value: f64,
}

fn main() {}
