use aludel::Model;

#[derive(Model)]
struct Marker;

fn main() {}
