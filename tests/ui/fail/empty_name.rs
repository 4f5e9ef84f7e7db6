use aludel::Model;

#[derive(Model)]
#[aludel(table = "")]
struct User {
    id: i64,
    #[aludel(column = "")]
    name: String,
}

// Flask-SQLAlchemy's rule strips leading underscores, leaving nothing.
#[allow(non_camel_case_types)]
#[derive(Model)]
struct __ {
    id: i64,
}

fn main() {}
