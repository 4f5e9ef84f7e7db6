//! From the derive input to a [`ModelDef`]: the struct checked, its `#[aludel(...)]`
//! attributes read, names resolved. Every error keeps the span of the tokens at fault.

use std::collections::HashMap;

use proc_macro2::{Span, TokenTree};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DataStruct, DeriveInput, Error, Fields, Ident, LitStr, Meta, Result, Token,
    Type, Visibility, token,
};

use crate::case::{camel_to_snake_case, constant_name};

/// The attribute keys allowed on the struct, for error messages.
const STRUCT_KEYS: &str = "on the struct the only known key is `table`";
/// The attribute keys allowed on a field, for error messages.
const FIELD_KEYS: &str = "on a field the known keys are `primary_key`, `unique` and `column`";

/// A model as the derive understands it.
pub(crate) struct ModelDef {
    /// The struct's name.
    pub(crate) ident: Ident,
    /// The struct's visibility, given to the column constants.
    pub(crate) vis: Visibility,
    /// The table's name: `#[aludel(table = "...")]`, or the struct name in snake case.
    pub(crate) table: String,
    /// The fields, in declaration order (which is column order).
    pub(crate) fields: Vec<FieldDef>,
    /// The index of the primary-key field in `fields`.
    pub(crate) primary_key: usize,
}

impl ModelDef {
    /// The primary-key field.
    pub(crate) fn key_field(&self) -> &FieldDef {
        // `parse` only builds a ModelDef with `primary_key` an index into `fields`.
        &self.fields[self.primary_key]
    }
}

/// One field, mapped to one column.
pub(crate) struct FieldDef {
    /// The field's name as written (possibly a raw identifier).
    pub(crate) ident: Ident,
    /// The field's type as written; its tokens keep their spans for trait errors.
    pub(crate) ty: Type,
    /// The column's name: `#[aludel(column = "...")]`, or the field name.
    pub(crate) column: String,
    /// The associated constant's name (`USERNAME`), spanned at the field name.
    pub(crate) constant: Ident,
    /// `#[aludel(unique)]`.
    pub(crate) unique: bool,
    /// Whether this is the primary key (marked, or by the `id` convention).
    pub(crate) primary_key: bool,
}

/// Several errors reported together, so that one build shows every mistake.
#[derive(Default)]
struct Errors(Option<Error>);

impl Errors {
    fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> Result<()> {
        self.0.map_or(Ok(()), Err)
    }

    /// All the errors so far with `last` after them, for a mistake that stops the parse.
    fn fail(self, last: Error) -> Error {
        match self.0 {
            Some(mut all) => {
                all.combine(last);
                all
            }
            None => last,
        }
    }
}

/// What the attributes of one field say, before the primary key is resolved.
struct FieldAttrs {
    /// The `primary_key` key, where given.
    primary_key: Option<Span>,
    /// The `unique` key, where given.
    unique: Option<Span>,
    /// The `column = "..."` value, where given.
    column: Option<LitStr>,
}

impl ModelDef {
    /// Checks the derive input and reads its attributes.
    pub(crate) fn parse(input: &DeriveInput) -> Result<Self> {
        let named = named_fields(input)?;
        if !input.generics.params.is_empty() {
            return Err(Error::new_spanned(
                &input.generics,
                "`#[derive(Model)]` does not support generic parameters or lifetimes: a model \
                 is one table with fixed, owned column types",
            ));
        }

        let mut errors = Errors::default();
        let table = struct_table(&input.attrs, &mut errors);
        let table = match table {
            Some(lit) => lit.value(),
            None => {
                let name = camel_to_snake_case(&input.ident.unraw().to_string());
                if name.is_empty() {
                    errors.push(Error::new(
                        input.ident.span(),
                        format!(
                            "the table name made from `{}` is empty; \
                             name the table with `#[aludel(table = \"...\")]`",
                            input.ident
                        ),
                    ));
                }
                name
            }
        };

        let mut fields = Vec::with_capacity(named.len());
        let mut marked_key: Option<usize> = None;
        let mut columns: HashMap<String, Ident> = HashMap::new();
        let mut constants: HashMap<String, Ident> = HashMap::new();
        for field in named {
            // A named field always has a name; skip rather than panic if syn ever says otherwise.
            let Some(ident) = field.ident.clone() else {
                continue;
            };
            let attrs = field_attrs(&field.attrs, &mut errors);
            let name = ident.unraw().to_string();

            if let Some(span) = attrs.primary_key {
                match marked_key {
                    Some(first) => {
                        // `first` indexes a field pushed in an earlier iteration.
                        let first: &FieldDef = &fields[first];
                        errors.push(Error::new(
                            span,
                            format!(
                                "`{name}` cannot also be the primary key: `{}` already is. \
                                 A model has exactly one primary key column (composite keys \
                                 are not supported)",
                                first.ident.unraw()
                            ),
                        ));
                    }
                    None => marked_key = Some(fields.len()),
                }
            }

            let column = match &attrs.column {
                Some(lit) => lit.value(),
                None => name.clone(),
            };
            if let Some(first) = columns.get(&column) {
                let message = format!(
                    "field `{}` already maps to column `{column}`; \
                     give one of them another name with `#[aludel(column = \"...\")]`",
                    first.unraw()
                );
                errors.push(match &attrs.column {
                    Some(lit) => Error::new(lit.span(), message),
                    None => Error::new(ident.span(), message),
                });
            } else {
                columns.insert(column.clone(), ident.clone());
            }

            let constant_text = constant_name(&name);
            let constant = match syn::parse_str::<Ident>(&constant_text) {
                Ok(mut constant) => {
                    constant.set_span(ident.span());
                    constant
                }
                Err(_) => {
                    errors.push(Error::new(
                        ident.span(),
                        format!(
                            "the column constant for field `{name}` would be named \
                             `{constant_text}`, which is not an identifier; rename the field"
                        ),
                    ));
                    ident.clone()
                }
            };
            if let Some(first) = constants.get(&constant_text) {
                errors.push(Error::new(
                    ident.span(),
                    format!(
                        "fields `{}` and `{name}` would both make the column constant \
                         `{}::{constant_text}`; rename one of them",
                        first.unraw(),
                        input.ident
                    ),
                ));
            } else {
                constants.insert(constant_text, ident.clone());
            }

            fields.push(FieldDef {
                ident,
                ty: field.ty.clone(),
                column,
                constant,
                unique: attrs.unique.is_some(),
                primary_key: false,
            });
        }

        let primary_key =
            marked_key.or_else(|| fields.iter().position(|f| f.ident.unraw() == "id"));
        let Some(primary_key) = primary_key else {
            return Err(errors.fail(Error::new(
                input.ident.span(),
                format!(
                    "`{}` has no primary key: mark one field with `#[aludel(primary_key)]`, \
                     or name it `id`",
                    input.ident
                ),
            )));
        };
        fields[primary_key].primary_key = true;
        let key_ty = &fields[primary_key].ty;
        if is_option(key_ty) {
            errors.push(Error::new_spanned(
                key_ty,
                "the primary key cannot be an `Option`: a key is never NULL. Use an integer \
                 (`i64`, assigned by the database on insert while it is 0) or a `String`",
            ));
        }

        errors.finish()?;
        Ok(ModelDef {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            table,
            fields,
            primary_key,
        })
    }
}

/// The named fields of a struct, or an error saying why the input is not one.
fn named_fields(
    input: &DeriveInput,
) -> Result<&syn::punctuated::Punctuated<syn::Field, Token![,]>> {
    let ident = &input.ident;
    match &input.data {
        Data::Struct(DataStruct {
            fields: Fields::Named(named),
            ..
        }) => Ok(&named.named),
        Data::Struct(DataStruct {
            fields: Fields::Unnamed(unnamed),
            ..
        }) => Err(Error::new_spanned(
            unnamed,
            "`#[derive(Model)]` needs named fields, one per column: a tuple struct has no \
             column names. Write `struct Name { id: i64, ... }`",
        )),
        Data::Struct(DataStruct {
            struct_token,
            semi_token,
            ..
        }) => Err(Error::new_spanned(
            quote!(#struct_token #ident #semi_token),
            "`#[derive(Model)]` needs named fields, one per column: a unit struct has no \
             columns. Write `struct Name { id: i64, ... }`",
        )),
        Data::Enum(data) => {
            let enum_token = data.enum_token;
            Err(Error::new_spanned(
                quote!(#enum_token #ident),
                "`#[derive(Model)]` works on structs with named fields only: a model is one \
                 table row, a field per column",
            ))
        }
        Data::Union(data) => {
            let union_token = data.union_token;
            Err(Error::new_spanned(
                quote!(#union_token #ident),
                "`#[derive(Model)]` works on structs with named fields only: a model is one \
                 table row, a field per column",
            ))
        }
    }
}

/// Reads `#[aludel(table = "...")]` from the struct's attributes.
fn struct_table(attrs: &[Attribute], errors: &mut Errors) -> Option<LitStr> {
    let mut table: Option<LitStr> = None;
    for attr in aludel_attrs(attrs, STRUCT_KEYS, errors) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                let lit = string_value(&meta, "table", "the table name")?;
                if table.is_some() {
                    return Err(Error::new_spanned(&meta.path, "`table` is given twice"));
                }
                table = Some(lit);
                Ok(())
            } else if ["primary_key", "unique", "column"]
                .iter()
                .any(|k| meta.path.is_ident(k))
            {
                Err(Error::new_spanned(
                    &meta.path,
                    format!(
                        "`{}` goes on a field, not on the struct; {STRUCT_KEYS}",
                        path_text(&meta.path)
                    ),
                ))
            } else {
                Err(unknown_key(&meta.path, STRUCT_KEYS))
            }
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    table
}

/// Reads `#[aludel(primary_key, unique, column = "...")]` from a field's attributes.
fn field_attrs(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs {
        primary_key: None,
        unique: None,
        column: None,
    };
    for attr in aludel_attrs(attrs, FIELD_KEYS, errors) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("primary_key") {
                flag(&meta, "primary_key", &mut out.primary_key)
            } else if meta.path.is_ident("unique") {
                flag(&meta, "unique", &mut out.unique)
            } else if meta.path.is_ident("column") {
                let lit = string_value(&meta, "column", "the column name")?;
                if out.column.is_some() {
                    return Err(Error::new_spanned(&meta.path, "`column` is given twice"));
                }
                out.column = Some(lit);
                Ok(())
            } else if meta.path.is_ident("table") {
                Err(Error::new_spanned(
                    &meta.path,
                    format!("`table` goes on the struct, not on a field; {FIELD_KEYS}"),
                ))
            } else {
                Err(unknown_key(&meta.path, FIELD_KEYS))
            }
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    out
}

/// A key without a value (`primary_key`, `unique`), seen at most once.
fn flag(meta: &ParseNestedMeta<'_>, key: &str, seen: &mut Option<Span>) -> Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(token::Paren) {
        return Err(Error::new_spanned(
            &meta.path,
            format!("`{key}` takes no value: write `#[aludel({key})]`"),
        ));
    }
    if seen.is_some() {
        return Err(Error::new_spanned(
            &meta.path,
            format!("`{key}` is given twice"),
        ));
    }
    *seen = Some(meta.path.span());
    Ok(())
}

/// The value of `key = "..."`: a non-empty string literal.
fn string_value(meta: &ParseNestedMeta<'_>, key: &str, what: &str) -> Result<LitStr> {
    if !meta.input.peek(Token![=]) {
        return Err(Error::new_spanned(
            &meta.path,
            format!("`{key}` needs a value: write `{key} = \"...\"`"),
        ));
    }
    let value = meta.value()?;
    if !value.peek(LitStr) {
        let wrong: TokenTree = value.parse()?;
        return Err(Error::new_spanned(
            wrong,
            format!("expected a string literal: `{key} = \"...\"`"),
        ));
    }
    let lit: LitStr = value.parse()?;
    if lit.value().is_empty() {
        return Err(Error::new(lit.span(), format!("{what} cannot be empty")));
    }
    Ok(lit)
}

/// The error for a key the derive does not know.
fn unknown_key(path: &syn::Path, known: &str) -> Error {
    Error::new_spanned(
        path,
        format!("unknown aludel attribute `{}`; {known}", path_text(path)),
    )
}

/// The `#[aludel(...)]` attributes among `attrs`; an `#[aludel]` or
/// `#[aludel = ...]` is reported, not returned.
fn aludel_attrs<'a>(
    attrs: &'a [Attribute],
    known: &str,
    errors: &mut Errors,
) -> Vec<&'a Attribute> {
    let mut lists = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("aludel")) {
        match &attr.meta {
            Meta::List(_) => lists.push(attr),
            Meta::Path(_) | Meta::NameValue(_) => errors.push(Error::new_spanned(
                attr,
                format!("write the keys in parentheses, `#[aludel(...)]`; {known}"),
            )),
        }
    }
    lists
}

/// A path as written, without the spaces token printing adds.
fn path_text(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// Whether `ty` is spelled as an `Option<...>` (by its last path segment, so
/// `std::option::Option<T>` counts; an alias does not, and fails on the
/// `PrimaryKey` bound instead).
fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Option"),
        Type::Group(group) => is_option(&group.elem),
        Type::Paren(paren) => is_option(&paren.elem),
        _ => false,
    }
}
