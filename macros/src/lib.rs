//! The `#[derive(Model)]` macro of aludel.
use proc_macro::TokenStream;

/// Derives `aludel::Model`.
#[proc_macro_derive(Model, attributes(aludel))]
pub fn derive_model(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
