use aludel::Model;

#[derive(Model)]
struct Wrapper<T> {
    id: i64,
    value: T,
}

#[derive(Model)]
struct Borrowed<'a> {
    id: i64,
    name: &'a str,
}

fn main() {}
