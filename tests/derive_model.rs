//! What `#[derive(Model)]` generates, checked at run time: the table metadata,
//! the conversions to and from values, the key, the column constants and the
//! registration. Compile errors are in `derive_ui.rs`.

use aludel::{ColumnDef, Table};
use aludel::{Error, Model, SqlType, Value};

#[derive(Model, Debug, Clone, PartialEq)]
struct User {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique)]
    username: String,
    email: Option<String>,
}

/// One field of every supported type, and the `Option` of each.
#[derive(Model, Debug, Clone, PartialEq)]
struct AllTypes {
    id: i32,
    int: i32,
    big: i64,
    real: f64,
    flag: bool,
    text: String,
    bytes: Vec<u8>,
    opt_int: Option<i32>,
    opt_big: Option<i64>,
    opt_real: Option<f64>,
    opt_flag: Option<bool>,
    opt_text: Option<String>,
    opt_bytes: Option<Vec<u8>>,
}

/// A text key given by the caller, not in first position, with renamed columns.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "api_keys")]
struct APIKey {
    #[aludel(column = "owner_id")]
    owner: i64,
    #[aludel(primary_key, unique, column = "key")]
    token: String,
}

fn column(
    name: &'static str,
    sql_type: SqlType,
    nullable: bool,
    unique: bool,
    primary_key: bool,
) -> ColumnDef {
    ColumnDef {
        name,
        sql_type,
        nullable,
        unique,
        primary_key,
        auto_increment: primary_key && matches!(sql_type, SqlType::Integer | SqlType::BigInt),
    }
}

#[test]
fn table_describes_every_field_in_order() {
    let expected = Table {
        name: "user",
        columns: &[
            ColumnDef {
                name: "id",
                sql_type: SqlType::BigInt,
                nullable: false,
                unique: false,
                primary_key: true,
                auto_increment: true,
            },
            ColumnDef {
                name: "username",
                sql_type: SqlType::Text,
                nullable: false,
                unique: true,
                primary_key: false,
                auto_increment: false,
            },
            ColumnDef {
                name: "email",
                sql_type: SqlType::Text,
                nullable: true,
                unique: false,
                primary_key: false,
                auto_increment: false,
            },
        ],
        primary_key: 0,
    };
    assert_eq!(*User::TABLE, expected);
    assert!(User::TABLE.key_is_generated());
}

#[test]
fn table_of_every_type() {
    let t = AllTypes::TABLE;
    assert_eq!(t.name, "all_types");
    let expected = [
        column("id", SqlType::Integer, false, false, true),
        column("int", SqlType::Integer, false, false, false),
        column("big", SqlType::BigInt, false, false, false),
        column("real", SqlType::Double, false, false, false),
        column("flag", SqlType::Boolean, false, false, false),
        column("text", SqlType::Text, false, false, false),
        column("bytes", SqlType::Blob, false, false, false),
        column("opt_int", SqlType::Integer, true, false, false),
        column("opt_big", SqlType::BigInt, true, false, false),
        column("opt_real", SqlType::Double, true, false, false),
        column("opt_flag", SqlType::Boolean, true, false, false),
        column("opt_text", SqlType::Text, true, false, false),
        column("opt_bytes", SqlType::Blob, true, false, false),
    ];
    assert_eq!(t.columns, expected);
    assert_eq!(t.primary_key, 0);
}

#[test]
fn attributes_override_names_and_key() {
    let t = APIKey::TABLE;
    assert_eq!(t.name, "api_keys");
    assert_eq!(
        t.columns,
        [
            column("owner_id", SqlType::BigInt, false, false, false),
            column("key", SqlType::Text, false, true, true),
        ]
    );
    assert_eq!(t.primary_key, 1);
    assert_eq!(t.key_column().name, "key");
    assert!(!t.key_is_generated());
}

fn all_some() -> AllTypes {
    AllTypes {
        id: 7,
        int: -3,
        big: i64::MAX,
        real: 2.5,
        flag: true,
        text: "ada".into(),
        bytes: vec![0, 1, 255],
        opt_int: Some(i32::MIN),
        opt_big: Some(-1),
        opt_real: Some(-0.125),
        opt_flag: Some(false),
        opt_text: Some(String::new()),
        opt_bytes: Some(vec![]),
    }
}

#[test]
fn values_follow_column_order() {
    let values = all_some().to_values();
    assert_eq!(
        values,
        vec![
            Value::I32(7),
            Value::I32(-3),
            Value::I64(i64::MAX),
            Value::F64(2.5),
            Value::Bool(true),
            Value::Text("ada".into()),
            Value::Blob(vec![0, 1, 255]),
            Value::I32(i32::MIN),
            Value::I64(-1),
            Value::F64(-0.125),
            Value::Bool(false),
            Value::Text(String::new()),
            Value::Blob(vec![]),
        ]
    );
    assert_eq!(values.len(), AllTypes::TABLE.columns.len());
}

#[test]
fn round_trip_with_values() {
    let model = all_some();
    let back = AllTypes::from_values(model.to_values()).expect("round trip");
    assert_eq!(back, model);
}

#[test]
fn round_trip_with_nulls() {
    let model = AllTypes {
        opt_int: None,
        opt_big: None,
        opt_real: None,
        opt_flag: None,
        opt_text: None,
        opt_bytes: None,
        ..all_some()
    };
    let values = model.to_values();
    assert!(values[7..].iter().all(Value::is_null), "{values:?}");
    let back = AllTypes::from_values(values).expect("round trip");
    assert_eq!(back, model);
}

#[test]
fn round_trip_user() {
    let user = User {
        id: 3,
        username: "ada".into(),
        email: Some("ada@example.com".into()),
    };
    assert_eq!(
        User::from_values(user.to_values()).expect("round trip"),
        user
    );
}

#[test]
fn short_row_is_a_conversion_error_naming_the_missing_column() {
    let err = User::from_values(vec![Value::I64(1), Value::Text("ada".into())])
        .expect_err("a missing value must be an error");
    match &err {
        Error::Conversion {
            column, expected, ..
        } => {
            assert_eq!(column, "email");
            assert_eq!(*expected, "String");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("2 values given for the 3 columns of table `user`"),
        "{message}"
    );

    let err = User::from_values(Vec::new()).expect_err("an empty row must be an error");
    assert!(
        matches!(&err, Error::Conversion { column, .. } if column == "id"),
        "{err:?}"
    );
}

#[test]
fn long_row_is_an_error() {
    let mut values = User {
        id: 1,
        username: "ada".into(),
        email: None,
    }
    .to_values();
    values.push(Value::Null);
    let err = User::from_values(values).expect_err("an extra value must be an error");
    assert!(matches!(err, Error::Query(_)), "{err:?}");
    assert!(
        err.to_string().contains("4 values for the 3 columns"),
        "{err}"
    );
}

#[test]
fn wrong_value_type_names_the_column() {
    let err = User::from_values(vec![Value::I64(1), Value::I64(2), Value::Null])
        .expect_err("an integer is not a String");
    assert!(
        matches!(&err, Error::Conversion { column, expected: "String", .. } if column == "username"),
        "{err:?}"
    );
}

#[test]
fn renamed_columns_are_read_by_their_column_name() {
    let err = APIKey::from_values(vec![Value::Text("x".into()), Value::Text("k".into())])
        .expect_err("text is not an i64");
    assert!(
        matches!(&err, Error::Conversion { column, .. } if column == "owner_id"),
        "{err:?}"
    );
    let key = APIKey {
        owner: 1,
        token: "k".into(),
    };
    assert_eq!(
        APIKey::from_values(key.to_values()).expect("round trip"),
        key
    );
}

#[test]
fn zero_integer_key_is_unassigned() {
    let mut user = User {
        id: 0,
        username: "ada".into(),
        email: None,
    };
    assert_eq!(user.key(), None);
    user.set_key(42);
    assert_eq!(user.id, 42);
    assert_eq!(user.key(), Some(42));
}

#[test]
fn text_key_is_always_assigned() {
    let mut key = APIKey {
        owner: 1,
        token: String::new(),
    };
    assert_eq!(key.key(), Some(String::new()));
    key.set_key("secret".into());
    assert_eq!(key.token, "secret");
    assert_eq!(key.key().as_deref(), Some("secret"));
}

#[test]
fn column_constants_name_their_columns() {
    assert_eq!(User::ID.name(), "id");
    assert_eq!(User::USERNAME.name(), "username");
    assert_eq!(User::EMAIL.name(), "email");
    assert_eq!(AllTypes::OPT_BYTES.name(), "opt_bytes");
    // A renamed column keeps the field's constant name.
    assert_eq!(APIKey::OWNER.name(), "owner_id");
    assert_eq!(APIKey::TOKEN.name(), "key");
}

#[test]
fn derived_models_are_registered() {
    let tables = aludel::__internal::registered_tables();
    for name in ["user", "all_types", "api_keys", "documented_model"] {
        assert!(
            tables.iter().any(|t| t.name == name),
            "`{name}` is not among {:?}",
            tables.iter().map(|t| t.name).collect::<Vec<_>>()
        );
    }
    let user = tables
        .iter()
        .find(|t| t.name == "user")
        .expect("user is registered");
    assert_eq!(*user, User::TABLE);
}

/// Every item the derive adds to a public model carries docs: this module
/// fails to compile if one does not.
pub mod documented {
    #![deny(missing_docs)]

    /// A public model.
    #[derive(aludel::Model, Debug)]
    pub struct DocumentedModel {
        /// The key.
        pub id: i64,
        /// A name.
        #[aludel(unique)]
        pub name: String,
        /// Maybe a note.
        pub note: Option<String>,
    }
}

#[test]
fn public_model_constants_are_public() {
    use documented::DocumentedModel;
    assert_eq!(DocumentedModel::TABLE.name, "documented_model");
    assert_eq!(DocumentedModel::NOTE.name(), "note");
}
