//! `#[derive(FromJson, ToJson)]` for ipscope's wire types (see `ipscope_api::json`).
//!
//! The derives read the `#[serde(...)]` attributes the types already carry for serde, so each Defender name has
//! one home, and the app reads and writes exactly what the server writes and reads. What is understood:
//! `rename_all = "camelCase" | "lowercase"` and `deny_unknown_fields` on the type, `rename` and `default` on a
//! field, `other` on a unit variant. `deserialize_with` is accepted and left to the field's type (the `FromJson` of
//! `DateTime<Utc>` and `NaiveDate` reads what `crate::time`'s functions read). Any other serde attribute changes the
//! wire shape in a way these derives do not copy, so it is a compile error: write that type's impls by hand.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{parse_macro_input, Attribute, Data, DeriveInput, Fields, LitStr};

/// `impl FromJson`: a struct with named fields from an object, a unit-only enum from a string.
#[proc_macro_derive(FromJson, attributes(serde))]
pub fn derive_from_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input, Direction::From).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// `impl ToJson`: the same shapes the other way, in declaration order as serde writes them.
#[proc_macro_derive(ToJson, attributes(serde))]
pub fn derive_to_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input, Direction::To).unwrap_or_else(syn::Error::into_compile_error).into()
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    From,
    To,
}

/// What `#[serde(...)]` says about one item.
#[derive(Default)]
struct Serde {
    rename_all: Option<String>,
    rename: Option<String>,
    default: bool,
    deny_unknown_fields: bool,
    other: bool,
}

fn serde_attributes(attrs: &[Attribute]) -> syn::Result<Serde> {
    let mut serde = Serde::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            match key.as_str() {
                "rename_all" => serde.rename_all = Some(meta.value()?.parse::<LitStr>()?.value()),
                "rename" => serde.rename = Some(meta.value()?.parse::<LitStr>()?.value()),
                "default" if meta.input.is_empty() || meta.input.peek(syn::Token![,]) => serde.default = true,
                "deny_unknown_fields" => serde.deny_unknown_fields = true,
                "other" => serde.other = true,
                "deserialize_with" => {
                    meta.value()?.parse::<LitStr>()?;
                }
                _ => {
                    return Err(
                        meta.error("ipscope-json-derive does not copy this serde attribute; write the impl by hand")
                    )
                }
            }
            Ok(())
        })?;
    }
    Ok(serde)
}

/// The wire name of a field (`snake_case`) or a variant (`PascalCase`): its `rename`, else its name under the
/// type's `rename_all`, as serde spells it.
fn wire_name(ident: &syn::Ident, attrs: &Serde, container: &Serde) -> syn::Result<String> {
    if let Some(rename) = &attrs.rename {
        return Ok(rename.clone());
    }
    let name = ident.to_string();
    match container.rename_all.as_deref() {
        None => Ok(name),
        Some("lowercase") => Ok(name.to_ascii_lowercase()),
        Some("camelCase") if name.contains('_') || name.starts_with(|c: char| c.is_ascii_lowercase()) => {
            let mut out = String::new();
            let mut upper = false;
            for c in name.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    out.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        }
        Some("camelCase") => Ok(name[..1].to_ascii_lowercase() + &name[1..]),
        Some(other) => {
            Err(syn::Error::new(ident.span(), format!("ipscope-json-derive does not know rename_all = \"{other}\"")))
        }
    }
}

fn expand(input: &DeriveInput, direction: Direction) -> syn::Result<Tokens> {
    let container = serde_attributes(&input.attrs)?;
    let name = &input.ident;
    let mut generics = input.generics.clone();
    let bound: syn::TypeParamBound = match direction {
        Direction::From => syn::parse_quote!(::ipscope_api::json::FromJson),
        Direction::To => syn::parse_quote!(::ipscope_api::json::ToJson),
    };
    for param in generics.type_params_mut() {
        param.bounds.push(bound.clone());
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let json = quote!(::ipscope_api::json);
    let body = match &input.data {
        Data::Struct(data) => {
            let Fields::Named(fields) = &data.fields else {
                return Err(syn::Error::new_spanned(name, "only structs with named fields"));
            };
            let mut names = Vec::new();
            let mut reads = Vec::new();
            let mut fallbacks = Vec::new();
            let mut writes = Vec::new();
            for field in &fields.named {
                let attrs = serde_attributes(&field.attrs)?;
                let ident = field.ident.as_ref().expect("named field");
                let wire = wire_name(ident, &attrs, &container)?;
                let read = if attrs.default { quote!(field_or_default) } else { quote!(field) };
                reads.push(quote!(#ident: #json::#read(object, #wire, &mut first)));
                fallbacks.push(quote!(#ident: #json::FromJson::fallback()));
                writes.push(quote!((#wire.to_string(), #json::ToJson::to_json(&self.#ident))));
                names.push(wire);
            }
            match direction {
                Direction::From => {
                    let deny = container
                        .deny_unknown_fields
                        .then(|| quote!(#json::deny_unknown_fields(object, &[#(#names),*], &mut first);));
                    // Every member is read (a stand-in where one fails) and the first error reported at the end:
                    // an early return per member would drop the members read so far, code repeated per member.
                    quote! {
                        impl #impl_generics #json::FromJson for #name #type_generics #where_clause {
                            fn from_json(value: &#json::Json) -> ::core::result::Result<Self, #json::JsonError> {
                                let object = #json::object(value)?;
                                let mut first = ::core::option::Option::None;
                                #deny
                                let value = #name { #(#reads,)* };
                                #json::finish(value, first)
                            }

                            fn fallback() -> Self {
                                #name { #(#fallbacks,)* }
                            }
                        }
                    }
                }
                Direction::To => quote! {
                    impl #impl_generics #json::ToJson for #name #type_generics #where_clause {
                        fn to_json(&self) -> #json::Json {
                            #json::Json::Object(::std::vec![#(#writes),*])
                        }
                    }
                },
            }
        }
        Data::Enum(data) => {
            let mut reads = Vec::new();
            let mut writes = Vec::new();
            let mut other = None;
            let Some(first) = data.variants.first().map(|v| &v.ident) else {
                return Err(syn::Error::new_spanned(name, "an enum without variants has no JSON form"));
            };
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) {
                    return Err(syn::Error::new_spanned(variant, "only unit variants (strings on the wire)"));
                }
                let attrs = serde_attributes(&variant.attrs)?;
                let ident = &variant.ident;
                let wire = wire_name(ident, &attrs, &container)?;
                if attrs.other {
                    other = Some(ident);
                }
                reads.push(quote!(#wire => #name::#ident));
                writes.push(quote!(#name::#ident => #wire));
            }
            let unknown = match other {
                Some(ident) => quote!(_ => #name::#ident),
                None => quote!(unknown => return ::core::result::Result::Err(#json::JsonError::unknown_value(unknown))),
            };
            match direction {
                Direction::From => quote! {
                    impl #impl_generics #json::FromJson for #name #type_generics #where_clause {
                        fn from_json(value: &#json::Json) -> ::core::result::Result<Self, #json::JsonError> {
                            ::core::result::Result::Ok(match #json::string(value)? { #(#reads,)* #unknown })
                        }

                        fn fallback() -> Self {
                            #name::#first
                        }
                    }
                },
                Direction::To => quote! {
                    impl #impl_generics #json::ToJson for #name #type_generics #where_clause {
                        fn to_json(&self) -> #json::Json {
                            #json::Json::String(match self { #(#writes,)* }.to_string())
                        }
                    }
                },
            }
        }
        Data::Union(_) => return Err(syn::Error::new_spanned(name, "unions are not JSON")),
    };
    Ok(body)
}
