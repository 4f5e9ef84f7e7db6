//! Code generation: from a [`ModelDef`] to the `Model` impl, the column
//! constants and the registry entry.
//!
//! Generated code names aludel's items only through `::aludel::__private`, and
//! std's through absolute paths, so it works whatever the user has in scope and
//! needs no dependency but `aludel`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Error};

use crate::parse::{FieldDef, ModelDef};

/// The one entry point: parses the input, checks it, and generates the code,
/// or turns the first problems found into `compile_error!`s on their spans.
pub(crate) fn derive_model(input: TokenStream) -> TokenStream {
    syn::parse2::<DeriveInput>(input)
        .and_then(|input| ModelDef::parse(&input))
        .map(|model| generate(&model))
        .unwrap_or_else(Error::into_compile_error)
}

/// The code for a checked model.
fn generate(model: &ModelDef) -> TokenStream {
    let p = quote!(::aludel::__private);
    let ident = &model.ident;
    let ident_text = ident.to_string();
    let vis = &model.vis;
    let table = &model.table;
    let count = model.fields.len();
    let primary_key = model.primary_key;
    let key = model.key_field();
    let key_field = &key.ident;
    // Every use of the key's trait is spanned at the key's type, so an unsupported
    // key type (`f64`) is reported there, not on the derive.
    let key_ty = &key.ty;
    let key_trait = quote_spanned!(key_ty.span()=> #p::PrimaryKey);

    let column_defs = model.fields.iter().map(|f| column_def(f, &p));
    let to_values = model.fields.iter().map(|f| {
        let field = &f.ident;
        let value = value_trait(f, &p);
        quote!(#value::to_value(&self.#field))
    });
    let from_values = model.fields.iter().map(|f| {
        let field = &f.ident;
        let column = &f.column;
        let value = value_trait(f, &p);
        quote! {
            #field: #value::from_value(
                match ::core::iter::Iterator::next(&mut values) {
                    ::core::option::Option::Some(value) => value,
                    ::core::option::Option::None => {
                        return ::core::result::Result::Err(missing(#column, #value::RUST_NAME));
                    }
                },
                #column,
            )?
        }
    });
    let constants = model.fields.iter().map(|f| {
        let constant = &f.constant;
        let ty = &f.ty;
        let doc = constant_doc(f, table);
        let column_name = &f.column;
        quote! {
            #[doc = #doc]
            #vis const #constant: #p::Column<#ident, #ty> = #p::Column::new(#column_name);
        }
    });

    quote! {
        #[automatically_derived]
        impl #p::Model for #ident {
            type Key = #key_ty;

            const TABLE: &'static #p::Table = &#p::Table {
                name: #table,
                columns: &[#(#column_defs),*],
                primary_key: #primary_key,
            };

            fn to_values(&self) -> ::std::vec::Vec<#p::Value> {
                ::std::vec![#(#to_values),*]
            }

            fn from_values(values: ::std::vec::Vec<#p::Value>) -> #p::Result<Self> {
                let given = values.len();
                if given > #count {
                    return ::core::result::Result::Err(#p::Error::Query(::std::format!(
                        "`{}::from_values` got {} values for the {} columns of table `{}`",
                        #ident_text, given, #count, #table,
                    )));
                }
                let missing = |column: &str, expected: &'static str| #p::Error::Conversion {
                    column: ::std::borrow::ToOwned::to_owned(column),
                    expected,
                    found: ::std::format!(
                        "no value ({} values given for the {} columns of table `{}`)",
                        given, #count, #table,
                    ),
                };
                let mut values = ::core::iter::IntoIterator::into_iter(values);
                ::core::result::Result::Ok(Self {
                    #(#from_values,)*
                })
            }

            fn key(&self) -> ::core::option::Option<Self::Key> {
                if <#key_ty as #key_trait>::is_unassigned(&self.#key_field) {
                    ::core::option::Option::None
                } else {
                    ::core::option::Option::Some(::core::clone::Clone::clone(&self.#key_field))
                }
            }

            fn set_key(&mut self, key: Self::Key) {
                self.#key_field = key;
            }
        }

        impl #ident {
            #(#constants)*
        }

        #p::inventory::submit! {
            #p::ModelEntry { table: <#ident as #p::Model>::TABLE }
        }
    }
}

/// `<T as SqlValue>` for a field, spanned at its type: an unsupported type
/// (`u8`, `HashMap<..>`) is reported on the field's type, not on the derive.
fn value_trait(field: &FieldDef, p: &TokenStream) -> TokenStream {
    let ty = &field.ty;
    quote_spanned!(ty.span()=> <#ty as #p::SqlValue>)
}

/// The `ColumnDef` of one field.
fn column_def(field: &FieldDef, p: &TokenStream) -> TokenStream {
    let name = &field.column;
    let unique = field.unique;
    let primary_key = field.primary_key;
    let value = value_trait(field, p);
    let auto_increment = if field.primary_key {
        let ty = &field.ty;
        quote_spanned!(ty.span()=> <#ty as #p::PrimaryKey>::GENERATED)
    } else {
        quote!(false)
    };
    quote! {
        #p::ColumnDef {
            name: #name,
            sql_type: #value::SQL_TYPE,
            nullable: #value::NULLABLE,
            unique: #unique,
            primary_key: #primary_key,
            auto_increment: #auto_increment,
        }
    }
}

/// The doc comment of a field's column constant.
fn constant_doc(field: &FieldDef, table: &str) -> String {
    let role = if field.primary_key {
        ", its primary key"
    } else if field.unique {
        " (unique)"
    } else {
        ""
    };
    format!(
        " The `{}` column of table `{table}`{role}, for filters and ordering.",
        field.column
    )
}
