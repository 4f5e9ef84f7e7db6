use aludel::Model;

#[derive(Model)]
struct Membership {
    #[aludel(primary_key)]
    user_id: i64,
    #[aludel(primary_key)]
    group_id: i64,
}

fn main() {}
