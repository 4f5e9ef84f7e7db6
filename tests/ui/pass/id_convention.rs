//! With no field marked, the field named `id` is the primary key, wherever it is.
use aludel::Model;

#[derive(Model)]
struct Post {
    title: String,
    id: i32,
}

// A marked field wins over a field named `id`.
#[derive(Model)]
struct Tag {
    id: i64,
    #[aludel(primary_key)]
    slug: String,
}

fn main() {
    assert_eq!(Post::TABLE.primary_key, 1);
    assert_eq!(Post::TABLE.key_column().name, "id");
    assert!(Post::TABLE.key_is_generated());
    assert!(Post::TABLE.columns[1].primary_key);
    assert!(!Post::TABLE.columns[0].primary_key);

    assert_eq!(Tag::TABLE.key_column().name, "slug");
    assert!(!Tag::TABLE.key_is_generated());
    assert!(!Tag::TABLE.columns[0].primary_key);
    assert!(!Tag::TABLE.columns[0].auto_increment);
}
