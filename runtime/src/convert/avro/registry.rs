//! A Confluent Schema Registry client: the REST calls Confluent's `CachedSchemaRegistryClient`
//! makes for a converter (register, look up, latest version, schema by id), nothing else, so it
//! works with Confluent's registry, Karapace, Apicurio's compatibility API and rivven-schema.
//! Answers are cached by the converter; this client only talks HTTP and sorts the failures into
//! "try again" (no answer, a 5xx) and "refused" (an error code from the registry).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value as Json};

use crate::config::Password;
use crate::rest::client;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Why a registry call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    /// No answer, or a server error: worth trying again (the next URL, then after a wait).
    #[error("schema registry {url} did not answer: {message}")]
    Unavailable { url: String, message: String },
    /// The registry answered with an error (`error_code` 40401, 40403, 409, 42201, …).
    #[error("schema registry {url} refused {call}: HTTP {status}, error code {code}: {message}")]
    Refused { url: String, call: String, status: u16, code: i64, message: String },
}

impl RegistryError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::Refused { code: 40401..=40499, .. } | RegistryError::Refused { status: 404, .. })
    }
}

/// `basic.auth.*` / `bearer.auth.*`: what goes in the `Authorization` header.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Basic(Password),
    Bearer(Password),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "none",
            Auth::Basic(_) => "basic [hidden]",
            Auth::Bearer(_) => "bearer [hidden]",
        })
    }
}

/// The registry's endpoints and how to call them.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Base URLs without user info (taken out into `auth` for `basic.auth.credentials.source=URL`).
    urls: Vec<String>,
    auth: Auth,
    extra_headers: Vec<(String, String)>,
    timeout: Duration,
}

/// A schema under a subject, as the registry stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub id: i32,
    pub version: Option<i32>,
    pub schema: String,
}

impl Registry {
    /// `urls`: `schema.registry.url`'s list. A URL's `user:password@` is used for basic
    /// authentication when `auth` is [`Auth::None`] (`basic.auth.credentials.source=URL`).
    pub fn new(urls: &[String], mut auth: Auth, extra_headers: Vec<(String, String)>, timeout: Duration) -> Registry {
        let mut plain = Vec::with_capacity(urls.len());
        for url in urls {
            let url = url.trim().trim_end_matches('/');
            let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rsplit_once('@') {
                Some((user_info, host)) => {
                    if matches!(auth, Auth::None) {
                        auth = Auth::Basic(Password::new(user_info));
                    }
                    plain.push(format!("{scheme}://{host}{}", &rest[authority_end..]));
                }
                None => plain.push(format!("{scheme}://{rest}")),
            }
        }
        Registry { urls: plain, auth, extra_headers, timeout }
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    async fn call(&self, method: &str, path: &str, body: Option<Json>) -> Result<Json, RegistryError> {
        let mut headers: BTreeMap<&str, String> = BTreeMap::new();
        headers.insert("Confluent-Accept-Unknown-Properties", "true".into());
        match &self.auth {
            Auth::None => {}
            Auth::Basic(user_info) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(user_info.expose());
                headers.insert("Authorization", format!("Basic {encoded}"));
            }
            Auth::Bearer(token) => {
                headers.insert("Authorization", format!("Bearer {}", token.expose()));
            }
        }
        for (k, v) in &self.extra_headers {
            headers.insert(k.as_str(), v.clone());
        }
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut last = None;
        for url in &self.urls {
            match client::request(url, method, path, &headers, CONTENT_TYPE, body.clone(), self.timeout).await {
                Ok((status, bytes)) if status < 300 => {
                    return serde_json::from_slice(&bytes).map_err(|e| RegistryError::Unavailable {
                        url: url.clone(),
                        message: format!("{method} {path} answered {status} with a body that is not JSON: {e}"),
                    });
                }
                Ok((status, bytes)) if status >= 500 => {
                    last = Some(RegistryError::Unavailable {
                        url: url.clone(),
                        message: format!(
                            "{method} {path}: HTTP {status} {}",
                            crate::error::cut(&String::from_utf8_lossy(&bytes), 300)
                        ),
                    });
                }
                Ok((status, bytes)) => {
                    let answer: Json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
                    let code = answer.get("error_code").and_then(Json::as_i64).unwrap_or(status as i64);
                    let message = answer.get("message").and_then(Json::as_str).map_or_else(
                        || crate::error::cut(&String::from_utf8_lossy(&bytes), 300).into_owned(),
                        str::to_owned,
                    );
                    let call = format!("{method} {path}");
                    return Err(RegistryError::Refused { url: url.clone(), call, status, code, message });
                }
                Err(e) => last = Some(RegistryError::Unavailable { url: url.clone(), message: e.to_string() }),
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Unavailable {
            url: String::new(),
            message: "no schema.registry.url".into(),
        }))
    }

    /// `POST /subjects/{subject}/versions`: registers (or finds) `schema`; answers its id.
    pub async fn register(&self, subject: &str, schema: &str, normalize: bool) -> Result<i32, RegistryError> {
        let path = format!("subjects/{}/versions?normalize={normalize}", client::encode_segment(subject));
        let answer = self.call("POST", &path, Some(json!({"schemaType": "AVRO", "schema": schema}))).await?;
        id_of(&answer, &path, &self.urls[0])
    }

    /// `POST /subjects/{subject}`: the id and version of `schema` if it is registered under
    /// `subject` (`auto.register.schemas=false`).
    pub async fn lookup(&self, subject: &str, schema: &str, normalize: bool) -> Result<Registered, RegistryError> {
        let path = format!("subjects/{}?normalize={normalize}&deleted=false", client::encode_segment(subject));
        let answer = self.call("POST", &path, Some(json!({"schemaType": "AVRO", "schema": schema}))).await?;
        registered(&answer, &path, &self.urls[0])
    }

    /// `GET /subjects/{subject}/versions/latest` (`use.latest.version=true`).
    pub async fn latest(&self, subject: &str) -> Result<Registered, RegistryError> {
        let path = format!("subjects/{}/versions/latest", client::encode_segment(subject));
        let answer = self.call("GET", &path, None).await?;
        registered(&answer, &path, &self.urls[0])
    }

    /// `GET /schemas/ids/{id}`: the schema text of `id`, which must be an Avro schema.
    /// The version of schema `id` under `subject`, as the Java deserializer looks it up for
    /// Connect: from `GET /schemas/ids/{id}/versions`, or else by reading the subject's versions
    /// newest first (a registry that shares one id among subjects may list only the first).
    pub async fn version_of(&self, id: i32, subject: &str) -> Result<Option<i32>, RegistryError> {
        if let Some((_, v)) = self.versions_of(id).await?.into_iter().find(|(s, _)| s == subject) {
            return Ok(Some(v));
        }
        let path = format!("subjects/{}/versions", client::encode_segment(subject));
        let answer = self.call("GET", &path, None).await?;
        let mut versions: Vec<i64> =
            answer.as_array().map(|a| a.iter().filter_map(Json::as_i64).collect()).unwrap_or_default();
        versions.sort_unstable_by(|a, b| b.cmp(a));
        for v in versions.into_iter().take(100) {
            let path = format!("subjects/{}/versions/{v}", client::encode_segment(subject));
            if registered(&self.call("GET", &path, None).await?, &path, &self.urls[0])?.id == id {
                return Ok(Some(v as i32));
            }
        }
        Ok(None)
    }

    /// The (subject, version) pairs holding schema `id` (`GET /schemas/ids/{id}/versions`).
    pub async fn versions_of(&self, id: i32) -> Result<Vec<(String, i32)>, RegistryError> {
        let path = format!("schemas/ids/{id}/versions");
        let answer = self.call("GET", &path, None).await?;
        Ok(answer
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| Some((i["subject"].as_str()?.to_owned(), i["version"].as_i64()? as i32)))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn schema_by_id(&self, id: i32, subject: Option<&str>) -> Result<String, RegistryError> {
        let mut path = format!("schemas/ids/{id}?fetchMaxId=false");
        if let Some(s) = subject {
            path.push_str(&format!("&subject={}", client::encode_segment(s)));
        }
        let answer = self.call("GET", &path, None).await?;
        let refused = |message: String| RegistryError::Refused {
            url: self.urls[0].clone(),
            call: format!("GET {path}"),
            status: 200,
            code: 0,
            message,
        };
        match answer.get("schemaType").and_then(Json::as_str) {
            None | Some("AVRO") => {}
            Some(other) => return Err(refused(format!("schema {id} is a {other} schema, not Avro"))),
        }
        answer
            .get("schema")
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| refused("an answer without a schema".into()))
    }
}

fn bad_answer(url: &str, path: &str, answer: &Json) -> RegistryError {
    RegistryError::Unavailable {
        url: url.to_owned(),
        message: format!("{path} answered {}", crate::error::cut(&answer.to_string(), 300)),
    }
}

fn id_of(answer: &Json, path: &str, url: &str) -> Result<i32, RegistryError> {
    answer.get("id").and_then(Json::as_i64).map(|id| id as i32).ok_or_else(|| bad_answer(url, path, answer))
}

fn registered(answer: &Json, path: &str, url: &str) -> Result<Registered, RegistryError> {
    Ok(Registered {
        id: id_of(answer, path, url)?,
        version: answer.get("version").and_then(Json::as_i64).map(|v| v as i32),
        schema: answer.get("schema").and_then(Json::as_str).unwrap_or_default().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_in_the_url_becomes_basic_auth_and_leaves_the_url() {
        let r = Registry::new(&["http://u:p%40ss@reg:8081/".into()], Auth::None, vec![], Duration::from_secs(1));
        assert_eq!(r.urls(), ["http://reg:8081"]);
        assert!(matches!(&r.auth, Auth::Basic(p) if p.expose() == "u:p%40ss"));
        assert_eq!(format!("{:?}", r.auth), "basic [hidden]");
        let r = Registry::new(&["https://reg/prefix".into()], Auth::None, vec![], Duration::from_secs(1));
        assert_eq!(r.urls(), ["https://reg/prefix"]);
    }
}
