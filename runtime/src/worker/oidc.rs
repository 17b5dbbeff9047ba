//! OAUTHBEARER tokens for clients that are not librdkafka's (the distributed group client), from
//! the same translated settings librdkafka gets: the OIDC client-credentials grant
//! (`sasl.oauthbearer.method=oidc`, as Kafka's `OAuthBearerLoginCallbackHandler` asks the token
//! endpoint) and Kafka's unsecured tokens (`enable.sasl.oauthbearer.unsecure.jwt`,
//! `sasl.oauthbearer.config=principal=… scope=…`). `sasl.oauthbearer.extensions` ride along.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;

use crate::rest::client::post_form;

/// Where a token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The client-credentials grant at `endpoint`.
    Oidc { endpoint: String, client_id: String, client_secret: String, scope: Option<String> },
    /// An unsigned JWT (`alg: none`) naming `principal`, for brokers that accept them (tests).
    Unsecured { principal: String, scope: Vec<String> },
}

/// A bearer token and when it ends (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerToken {
    pub value: String,
    pub expires_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the token endpoint {0} did not answer: {1}")]
    Unreachable(String, String),
    #[error("the token endpoint {0} answered HTTP {1}: {2}")]
    Refused(String, u16, String),
    #[error("the token endpoint {0} answered without an access_token: {1}")]
    NoToken(String, String),
}

/// One hour: the lifetime of unsecured tokens (Kafka's and librdkafka's default), and of an
/// endpoint's token that does not say (`expires_in` is optional in RFC 6749).
const DEFAULT_LIFETIME_S: i64 = 3600;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl TokenSource {
    /// From a librdkafka client's settings; `None` when neither OIDC nor unsecured tokens are set.
    pub fn from_librdkafka(get: &dyn Fn(&str) -> Option<String>) -> Option<TokenSource> {
        if get("sasl.oauthbearer.method").is_some_and(|m| m.eq_ignore_ascii_case("oidc")) {
            return Some(TokenSource::Oidc {
                endpoint: get("sasl.oauthbearer.token.endpoint.url")?,
                client_id: get("sasl.oauthbearer.client.id").unwrap_or_default(),
                client_secret: get("sasl.oauthbearer.client.secret").unwrap_or_default(),
                scope: get("sasl.oauthbearer.scope").filter(|s| !s.is_empty()),
            });
        }
        if get("enable.sasl.oauthbearer.unsecure.jwt").is_none_or(|v| v != "true") {
            return None;
        }
        let config = get("sasl.oauthbearer.config").unwrap_or_default();
        let field = |name: &str| {
            config.split_whitespace().find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        };
        Some(TokenSource::Unsecured {
            principal: field("principal")?.to_owned(),
            scope: field("scope").map(|s| s.split(',').map(str::to_owned).collect()).unwrap_or_default(),
        })
    }

    /// A token valid for a while yet: an endpoint's is reused until 80% of its lifetime has
    /// passed (as librdkafka refreshes), so reconnections do not each ask the endpoint.
    pub async fn token(&self) -> Result<BearerToken, OidcError> {
        match self {
            TokenSource::Oidc { endpoint, client_id, client_secret, scope } => {
                let key = format!("{endpoint}\n{client_id}\n{client_secret}\n{}", scope.as_deref().unwrap_or_default());
                let now = now_ms();
                if let Some(token) = cached(&key, now) {
                    return Ok(token);
                }
                let token = client_credentials(endpoint, client_id, client_secret, scope.as_deref()).await?;
                let refresh_at = now + (token.expires_ms - now) * 4 / 5;
                TOKENS.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (refresh_at, token.clone()));
                Ok(token)
            }
            TokenSource::Unsecured { principal, scope } => Ok(unsecured(principal, scope, now_ms())),
        }
    }
}

/// Endpoint tokens by endpoint, client, secret and scope, with when to ask again (in memory only).
static TOKENS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, (i64, BearerToken)>>> =
    std::sync::LazyLock::new(Default::default);

fn cached(key: &str, now: i64) -> Option<BearerToken> {
    let tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    tokens.get(key).filter(|(refresh_at, _)| now < *refresh_at).map(|(_, token)| token.clone())
}

/// The client-credentials grant (RFC 6749 §4.4): HTTP basic authentication with the client's id
/// and secret, `grant_type=client_credentials` and the scope; the answer's `access_token` and
/// `expires_in`.
async fn client_credentials(
    endpoint: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<&str>,
) -> Result<BearerToken, OidcError> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{client_secret}"));
    let headers = BTreeMap::from([("Authorization", format!("Basic {basic}"))]);
    let mut form = "grant_type=client_credentials".to_owned();
    if let Some(scope) = scope {
        form.push_str("&scope=");
        form.push_str(&form_encode(scope));
    }
    let asked = now_ms();
    let (status, body) = post_form(endpoint, &headers, form).await.map_err(|e| {
        // the client's Io text is Kafka's wording for forwarded REST requests: say what failed
        let reason = match e {
            crate::rest::client::ClientError::Io(reason) => reason,
            other => other.to_string(),
        };
        OidcError::Unreachable(endpoint.into(), reason)
    })?;
    let text = crate::error::excerpt(&body, 200);
    if !(200..300).contains(&status) {
        return Err(OidcError::Refused(endpoint.into(), status, text));
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| OidcError::NoToken(endpoint.into(), text.clone()))?;
    let Some(value) = doc["access_token"].as_str() else {
        return Err(OidcError::NoToken(endpoint.into(), text));
    };
    let lifetime_s = doc["expires_in"].as_i64().unwrap_or(DEFAULT_LIFETIME_S);
    Ok(BearerToken { value: value.to_owned(), expires_ms: asked + lifetime_s * 1000 })
}

/// `application/x-www-form-urlencoded` for one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An unsigned JWT as Kafka's and librdkafka's unsecured login make it: `{"alg":"none"}`, the
/// principal as `sub`, `iat`, `exp` an hour later, `scope` when given, and an empty signature.
fn unsecured(principal: &str, scope: &[String], now_ms: i64) -> BearerToken {
    let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let iat = now_ms / 1000;
    let mut claims = serde_json::json!({"sub": principal, "iat": iat, "exp": iat + DEFAULT_LIFETIME_S});
    if !scope.is_empty() {
        claims["scope"] = serde_json::json!(scope);
    }
    let value = format!("{}.{}.", b64(&serde_json::json!({"alg": "none"})), b64(&claims));
    BearerToken { value, expires_ms: (iat + DEFAULT_LIFETIME_S) * 1000 }
}

/// `sasl.oauthbearer.extensions` (`k=v,k2=v2`) as pairs, in order.
pub fn extensions(get: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    get("sasl.oauthbearer.extensions")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &'static [(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn sources_come_from_librdkafka_settings() {
        let oidc = settings(&[
            ("sasl.oauthbearer.method", "oidc"),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/token"),
            ("sasl.oauthbearer.client.id", "cid"),
            ("sasl.oauthbearer.client.secret", "cs"),
            ("sasl.oauthbearer.scope", "kafka"),
            ("sasl.oauthbearer.extensions", "logicalCluster=lkc-1,identityPoolId=pool-2"),
        ]);
        assert_eq!(
            TokenSource::from_librdkafka(&oidc),
            Some(TokenSource::Oidc {
                endpoint: "https://idp.example/token".into(),
                client_id: "cid".into(),
                client_secret: "cs".into(),
                scope: Some("kafka".into()),
            })
        );
        assert_eq!(
            extensions(&oidc),
            vec![("logicalCluster".into(), "lkc-1".into()), ("identityPoolId".into(), "pool-2".into())]
        );
        let unsecured = settings(&[
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            ("sasl.oauthbearer.config", "principal=alice scope=read,write"),
        ]);
        assert_eq!(
            TokenSource::from_librdkafka(&unsecured),
            Some(TokenSource::Unsecured { principal: "alice".into(), scope: vec!["read".into(), "write".into()] })
        );
        assert_eq!(TokenSource::from_librdkafka(&settings(&[("sasl.oauthbearer.config", "x")])), None);
        assert!(extensions(&settings(&[])).is_empty());
    }

    #[test]
    fn an_unsecured_token_is_an_unsigned_jwt_of_the_principal() {
        let token = unsecured("alice", &["read".into()], 1_700_000_000_123);
        let parts: Vec<&str> = token.value.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], "");
        let decode = |p: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap();
        assert_eq!(decode(parts[0]), br#"{"alg":"none"}"#);
        let claims: serde_json::Value = serde_json::from_slice(&decode(parts[1])).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({"sub": "alice", "iat": 1_700_000_000i64, "exp": 1_700_003_600i64, "scope": ["read"]})
        );
        assert_eq!(token.expires_ms, 1_700_003_600_000);
    }

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(form_encode("api://kafka/.default read"), "api%3A%2F%2Fkafka%2F.default+read");
    }
}
