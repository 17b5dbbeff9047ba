//! Amazon MSK IAM authentication for the Kafka clients: a worker file with
//! `sasl.mechanism=AWS_MSK_IAM` and `software.amazon.msk.auth.iam.IAMLoginModule` (AWS's Java
//! library) runs through SASL/OAUTHBEARER, which MSK accepts from non-Java clients, with the
//! token AWS's MSK signer libraries make: a SigV4-presigned
//! `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect` (service
//! `kafka-cluster`, valid 900 s) with a `User-Agent` parameter, base64url without padding.
//! Credentials come from the AWS default chain (environment, profile, web identity, container,
//! instance), the module's `awsProfileName`, or the role in `awsRoleArn` assumed through STS.
//! The region is the one in the brokers' host names (`….kafka.<region>.amazonaws.com`), else
//! `AWS_REGION`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What librdkafka's `sasl.oauthbearer.config` starts with when the token is MSK's.
pub const MARKER: &str = "sluice-aws-msk-iam";

/// How long a token is valid, as AWS's signers make it.
const EXPIRES: Duration = Duration::from_secs(900);

/// RFC 3986's unreserved characters stay; everything else is escaped (botocore's `quote`).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
pub enum MskIamError {
    #[error("AWS_MSK_IAM: no region: bootstrap.servers names no MSK host (….kafka.<region>.amazonaws.com) and AWS_REGION is not set")]
    NoRegion,
    #[error("AWS_MSK_IAM: no AWS credentials: {0}")]
    Credentials(String),
    #[error("AWS_MSK_IAM: signing failed: {0}")]
    Signing(String),
}

/// The login module's options, as `IAMLoginModule` reads them, and the region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MskIam {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub sts_region: Option<String>,
}

/// A token and when it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MskToken {
    pub value: String,
    pub expires_ms: i64,
}

impl MskIam {
    /// From `IAMLoginModule`'s options (`awsProfileName`, `awsRoleArn`, `awsRoleSessionName`,
    /// `awsStsRegion`; `awsDebugCreds` and `awsMaxRetries` change nothing here).
    pub fn from_options(options: &BTreeMap<String, String>) -> MskIam {
        let get = |k: &str| options.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        MskIam {
            region: None,
            profile: get("awsProfileName"),
            role_arn: get("awsRoleArn"),
            role_session_name: get("awsRoleSessionName"),
            sts_region: get("awsStsRegion"),
        }
    }

    /// librdkafka's `sasl.oauthbearer.config` carrying these settings to the token callback.
    pub fn to_config(&self) -> String {
        let mut out = MARKER.to_owned();
        for (k, v) in [
            ("region", &self.region),
            ("profile", &self.profile),
            ("role_arn", &self.role_arn),
            ("role_session_name", &self.role_session_name),
            ("sts_region", &self.sts_region),
        ] {
            if let Some(v) = v {
                out.push_str(&format!(" {k}={v}"));
            }
        }
        out
    }

    /// The settings in a `sasl.oauthbearer.config` made by [`MskIam::to_config`], if it is one.
    pub fn from_config(config: &str) -> Option<MskIam> {
        let mut words = config.split_whitespace();
        if words.next() != Some(MARKER) {
            return None;
        }
        let mut out = MskIam::default();
        for word in words {
            let Some((k, v)) = word.split_once('=') else { continue };
            let slot = match k {
                "region" => &mut out.region,
                "profile" => &mut out.profile,
                "role_arn" => &mut out.role_arn,
                "role_session_name" => &mut out.role_session_name,
                "sts_region" => &mut out.sts_region,
                _ => continue,
            };
            *slot = Some(v.to_owned());
        }
        Some(out)
    }

    /// A fresh token, signed with credentials from the chain these settings name. Blocks the
    /// calling thread while credentials load (librdkafka calls this from its poll threads).
    pub fn token(&self) -> Result<MskToken, MskIamError> {
        let region = self
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
            .ok_or(MskIamError::NoRegion)?;
        let credentials = self.credentials()?;
        presigned_token(&region, &credentials, SystemTime::now(), &user_agent())
    }

    /// Credentials, loaded on a thread of its own: the caller may be inside tokio.
    fn credentials(&self) -> Result<Credentials, MskIamError> {
        let settings = self.clone();
        let load = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| MskIamError::Credentials(e.to_string()))?;
            rt.block_on(settings.load_credentials())
        });
        load.join().map_err(|_| MskIamError::Credentials("the loader panicked".into()))?
    }

    async fn load_credentials(self) -> Result<Credentials, MskIamError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        let sdk = loader.load().await;
        let fail = |e: aws_credential_types::provider::error::CredentialsError| {
            MskIamError::Credentials(format!(
                "{e} ({})",
                std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()
            ))
        };
        match &self.role_arn {
            Some(arn) => {
                let session = self.role_session_name.as_deref().unwrap_or("aws-msk-iam-auth");
                let mut role = aws_config::sts::AssumeRoleProvider::builder(arn).session_name(session);
                if let Some(region) = &self.sts_region {
                    role = role.region(aws_config::Region::new(region.clone()));
                }
                role.configure(&sdk).build().await.provide_credentials().await.map_err(fail)
            }
            None => {
                let provider = sdk
                    .credentials_provider()
                    .ok_or_else(|| MskIamError::Credentials("no credentials provider in the AWS chain".into()))?;
                provider.provide_credentials().await.map_err(fail)
            }
        }
    }
}

/// The region in MSK broker host names: `b-1.name.abc123.c2.kafka.us-east-1.amazonaws.com` and
/// `boot-x.c1.kafka-serverless.us-east-1.amazonaws.com`.
pub fn region_of_bootstrap(servers: &str) -> Option<String> {
    servers.split(',').find_map(|server| {
        let host = server.trim().rsplit_once(':').map_or(server.trim(), |(h, _)| h);
        let labels: Vec<&str> = host.split('.').collect();
        labels.windows(3).find_map(|w| {
            let service = w[0] == "kafka" || w[0] == "kafka-serverless";
            (service && w[2] == "amazonaws" && !w[1].is_empty()).then(|| w[1].to_owned())
        })
    })
}

fn user_agent() -> String {
    format!("sluice/{}", env!("CARGO_PKG_VERSION"))
}

/// The token for `region`, signed at `now`, exactly as AWS's signers write it (the parameters
/// in botocore's order, so the same inputs give the same bytes).
pub fn presigned_token(
    region: &str,
    credentials: &Credentials,
    now: SystemTime,
    user_agent: &str,
) -> Result<MskToken, MskIamError> {
    let host = format!("kafka.{region}.amazonaws.com");
    let base = format!("https://{host}/?Action=kafka-cluster%3AConnect");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(EXPIRES);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kafka-cluster")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| MskIamError::Signing(e.to_string()))?
        .into();
    let request = SignableRequest::new("GET", &base, std::iter::once(("host", host.as_str())), SignableBody::empty())
        .map_err(|e| MskIamError::Signing(e.to_string()))?;
    let (instructions, _) = sign(request, &params).map_err(|e| MskIamError::Signing(e.to_string()))?.into_parts();
    let (_, query) = instructions.into_parts();
    let value = |name: &str| query.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
    let mut url = base;
    for name in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ] {
        if let Some(v) = value(name) {
            url.push_str(&format!("&{name}={}", utf8_percent_encode(&v, QUERY)));
        }
    }
    url.push_str(&format!("&User-Agent={}", utf8_percent_encode(user_agent, QUERY)));
    let signed_at = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    Ok(MskToken {
        value: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url),
        expires_ms: (signed_at + EXPIRES.as_secs() as i64) * 1000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_noon() -> SystemTime {
        // 2026-12-06T12:00:00Z
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_558_400)
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// Vectors from AWS's `aws-msk-iam-sasl-signer-python` 1.0.2 (botocore 1.44.18) with the
    /// clock fixed at 2026-12-06T12:00:00Z and the user agent `sluice/0.1.0`.
    #[test]
    fn the_token_is_byte_for_byte_the_one_aws_signer_makes() {
        let plain = Credentials::new("AKIDEXAMPLE", SECRET, None, None, "test");
        let token = presigned_token("us-east-1", &plain, at_noon(), "sluice/0.1.0").unwrap();
        assert_eq!(
            token.value,
            "aHR0cHM6Ly9rYWZrYS51cy1lYXN0LTEuYW1hem9uYXdzLmNvbS8_QWN0aW9uPWthZmthLWNsdXN0ZXIlM0FDb25uZWN0JlgtQW16LUFsZ29yaXRobT1BV1M0LUhNQUMtU0hBMjU2JlgtQW16LUNyZWRlbnRpYWw9QUtJREVYQU1QTEUlMkYyMDI2MTIwNiUyRnVzLWVhc3QtMSUyRmthZmthLWNsdXN0ZXIlMkZhd3M0X3JlcXVlc3QmWC1BbXotRGF0ZT0yMDI2MTIwNlQxMjAwMDBaJlgtQW16LUV4cGlyZXM9OTAwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCZYLUFtei1TaWduYXR1cmU9NTg5ZDUzZGIzN2UzOWUxZmUyODMwNTFiYTc0MDgzZTYwNjBmNzhhMjA5MzkyZTViZDhkOThjYzFjYzJiY2Q1OCZVc2VyLUFnZW50PXNsdWljZSUyRjAuMS4w"
        );
        assert_eq!(token.expires_ms, 1_796_559_300_000);
        let session = Credentials::new(
            "ASIAEXAMPLE",
            SECRET,
            Some("IQoJb3JpZ2luX2VjEXAMPLE/token+with=chars".into()),
            None,
            "test",
        );
        let token = presigned_token("us-east-1", &session, at_noon(), "sluice/0.1.0").unwrap();
        let url =
            String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&token.value).unwrap()).unwrap();
        assert_eq!(
            url,
            "https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20261206%2Fus-east-1%2Fkafka-cluster%2Faws4_request&X-Amz-Date=20261206T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2Ftoken%2Bwith%3Dchars&X-Amz-Signature=aa7784ca6539732583a13273f395e23ea22f368155fa0274980a17dfbf6eb952&User-Agent=sluice%2F0.1.0"
        );
    }

    #[test]
    fn the_region_comes_from_msk_host_names() {
        let provisioned = "b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.demo.abc123.c2.kafka.eu-west-1.amazonaws.com:9098";
        assert_eq!(region_of_bootstrap(provisioned).as_deref(), Some("eu-west-1"));
        let serverless = "boot-abc.c1.kafka-serverless.us-east-2.amazonaws.com:9098";
        assert_eq!(region_of_bootstrap(serverless).as_deref(), Some("us-east-2"));
        assert_eq!(region_of_bootstrap("127.0.0.1:9092"), None);
    }

    #[test]
    fn settings_travel_through_librdkafka_config_string() {
        let mut options = BTreeMap::new();
        options.insert("awsRoleArn".to_owned(), "arn:aws:iam::123456789012:role/msk".to_owned());
        options.insert("awsRoleSessionName".to_owned(), "connect".to_owned());
        options.insert("awsDebugCreds".to_owned(), "true".to_owned());
        let mut settings = MskIam::from_options(&options);
        settings.region = Some("eu-west-1".into());
        let config = settings.to_config();
        assert!(config.starts_with(MARKER));
        assert_eq!(MskIam::from_config(&config), Some(settings));
        assert_eq!(MskIam::from_config("principal=admin"), None);
    }
}
