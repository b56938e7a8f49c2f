//! Who is calling: bearer tokens (ipscope's own, or OpenID Connect access tokens), Defender's permission names,
//! and the device groups a caller may see. `authenticate` runs before every protected `/api` route.

pub mod oidc;
pub mod tokens;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::store::Scope;
use crate::AppState;

/// An authenticated caller, as the handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who it is, for the audit: the token's name or the identity provider's user or application name.
    pub name: String,
    /// Defender permission names the caller holds (`Ip.Read.All`, `Alert.Read`...).
    pub permissions: Vec<String>,
    /// The devices whose data the caller may see.
    pub scope: Scope,
    /// The id of ipscope's own token, when one was used (its last use is recorded).
    pub token_id: Option<String>,
}

impl Caller {
    /// The caller of a server running with `--no-auth`: whatever the reverse proxy in front let through.
    pub fn unauthenticated() -> Caller {
        Caller {
            name: "(no-auth)".into(),
            permissions: Permission::ALL.iter().map(|p| p.name().to_string()).collect(),
            scope: Scope::All,
            token_id: None,
        }
    }

    /// `Ok` when the caller holds one of the names that grant `permission`; else a 403 naming it.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if permission.granted_by().iter().any(|name| self.permissions.iter().any(|p| p == name)) {
            return Ok(());
        }
        Err(AppError::Forbidden(format!(
            "This endpoint needs the permission {}; the token has {}.",
            permission.describe(),
            if self.permissions.is_empty() { "none".to_string() } else { self.permissions.join(", ") }
        )))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts.extensions.get::<Caller>().cloned().ok_or(AppError::Unauthenticated {
            message: "This endpoint needs an access token.".into(),
            token_given: false,
        })
    }
}

/// The permissions ipscope checks, by Defender's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `Ip.Read.All`: IP statistics, alert IPs and the IP page's extensions.
    IpRead,
    /// `Alert.Read.All` (application) or `Alert.Read` (delegated), or their `ReadWrite` forms.
    AlertRead,
    /// `Machine.Read.All` (application) or `Machine.Read` (delegated), or their `ReadWrite` forms.
    MachineRead,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 3] = [Permission::IpRead, Permission::AlertRead, Permission::MachineRead];

    /// The main (application) name.
    pub fn name(self) -> &'static str {
        self.granted_by()[0]
    }

    /// The names that grant it: the application name first.
    pub fn granted_by(self) -> &'static [&'static str] {
        match self {
            Permission::IpRead => &["Ip.Read.All"],
            Permission::AlertRead => &["Alert.Read.All", "Alert.ReadWrite.All", "Alert.Read", "Alert.ReadWrite"],
            Permission::MachineRead => {
                &["Machine.Read.All", "Machine.ReadWrite.All", "Machine.Read", "Machine.ReadWrite"]
            }
        }
    }

    /// `Alert.Read.All (or Alert.ReadWrite.All, Alert.Read, Alert.ReadWrite)`.
    fn describe(self) -> String {
        match self.granted_by() {
            [only] => only.to_string(),
            [first, rest @ ..] => format!("{first} (or {})", rest.join(", ")),
            [] => String::new(),
        }
    }

    /// Whether `name` is a permission ipscope knows.
    pub fn is_known(name: &str) -> bool {
        Permission::ALL.iter().any(|p| p.granted_by().contains(&name))
    }
}

/// How callers authenticate; fixed at start-up.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// `--no-auth`: a trusted reverse proxy authenticates; every request is let through with full access.
    pub disabled: bool,
    /// OpenID Connect access tokens, besides ipscope's own tokens.
    pub oidc: Option<oidc::OidcConfig>,
}

/// What `authenticate` needs at run time.
pub struct Authenticator {
    disabled: bool,
    oidc: Option<oidc::OidcValidator>,
}

impl Authenticator {
    /// The authenticator for `config`.
    pub fn new(config: &AuthConfig) -> Arc<Authenticator> {
        Arc::new(Authenticator { disabled: config.disabled, oidc: config.oidc.clone().map(oidc::OidcValidator::new) })
    }

    /// The OpenID Connect validator, if the server accepts OpenID Connect tokens.
    pub fn oidc(&self) -> Option<&oidc::OidcValidator> {
        self.oidc.as_ref()
    }

    /// Whether authentication is off (`--no-auth`).
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// The caller a bearer token stands for.
    async fn caller(&self, state: &AppState, token: &str) -> Result<Caller, AppError> {
        let invalid = |message: String| AppError::Unauthenticated { message, token_given: true };
        if token.starts_with(tokens::PREFIX) {
            let token = token.to_string();
            let found = state.store.call(move |c| tokens::verify(c, &token, chrono::Utc::now())).await?;
            return found.map_err(invalid);
        }
        match &self.oidc {
            Some(oidc) => oidc.validate(token).await.map_err(|e| match e {
                oidc::OidcError::Invalid(message) => invalid(message),
                provider => AppError::Unavailable(provider.to_string()),
            }),
            None => Err(invalid("The token is not an ipscope token, and this server accepts no other.".into())),
        }
    }
}

/// The bearer token of an `Authorization` header: `Ok(None)` without the header.
pub(crate) fn bearer(parts: &Request) -> Result<Option<&str>, AppError> {
    let Some(value) = parts.headers().get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || AppError::Unauthenticated {
        message: "The Authorization header must be `Bearer {token}`.".into(),
        token_given: true,
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 16_384 {
        return Err(malformed());
    }
    Ok(Some(token))
}

/// The middleware: finds the caller of every protected API request, or answers 401.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let caller = if state.auth.disabled {
        Ok(Caller::unauthenticated())
    } else {
        match bearer(&request) {
            Ok(Some(token)) => state.auth.caller(&state, token).await,
            Ok(None) => Err(AppError::Unauthenticated {
                message: "This endpoint needs an access token: send `Authorization: Bearer {token}`.".into(),
                token_given: false,
            }),
            Err(e) => Err(e),
        }
    };
    match caller {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}
