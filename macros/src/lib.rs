//! The `#[derive(Model)]` macro of aludel. Use it through `aludel::Model`;
//! the generated code refers only to `aludel`, so no other dependency is needed.
//!
//! Layout: `parse` reads the struct and its `#[aludel(...)]` attributes into a
//! model definition, `expand` generates the code, `case` holds the naming rules.

mod case;
mod expand;
mod parse;

use proc_macro::TokenStream;

/// Derives `aludel::Model` for a struct with named fields.
///
/// Generates the `Model` impl (table metadata, conversion to and from values,
/// the key), one typed column constant per field (`User::USERNAME`), and the
/// registration `create_all` uses.
///
/// Attributes:
/// - on the struct, `#[aludel(table = "name")]` names the table (default: the
///   struct name in snake case, as Flask-SQLAlchemy does: `HTTPResponse` -> `http_response`);
/// - on a field, `#[aludel(primary_key)]` marks the key (default: the field named `id`),
///   `#[aludel(unique)]` adds a UNIQUE constraint, `#[aludel(column = "name")]`
///   names the column (default: the field name).
///
/// Mistakes are compile errors on the tokens at fault.
#[proc_macro_derive(Model, attributes(aludel))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    expand::derive_model(input.into()).into()
}
