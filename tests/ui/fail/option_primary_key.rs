use aludel::Model;

#[derive(Model)]
struct Marked {
    #[aludel(primary_key)]
    key: Option<i64>,
    name: String,
}

// The `id` convention is checked the same way.
#[derive(Model)]
struct ByConvention {
    id: std::option::Option<i64>,
    name: String,
}

fn main() {}
