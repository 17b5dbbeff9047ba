//! The bucket: aws-sdk-s3 calls with the reference's client settings (s3-sink.md §10) and its
//! part retries (`s3.part.retries`, `s3.retry.backoff.ms`, exponential). Errors say whether
//! trying again can help: a server that does not answer or answers 5xx is retriable (the task
//! stalls and loses nothing), a missing bucket or refused credentials are fatal.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use runtime::retry::Backoff;
use runtime::TaskError;
use tracing::{debug, warn};

use crate::config::{AssumeRole, S3SinkConfig};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("s3 {operation} of s3://{bucket}/{key} failed: {reason}")]
    Retriable { operation: &'static str, bucket: String, key: String, reason: String },
    #[error("s3 {operation} of s3://{bucket}/{key} failed: {reason}")]
    Fatal { operation: &'static str, bucket: String, key: String, reason: String },
    /// An upload's task ended without an answer (a bug): its files are read again from the
    /// committed offset once the task restarts.
    #[error("an upload was lost: {reason}")]
    Lost { reason: String },
}

impl StorageError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, StorageError::Retriable { .. })
    }
}

impl From<StorageError> for TaskError {
    fn from(e: StorageError) -> TaskError {
        if e.is_retriable() {
            TaskError::retriable(e)
        } else {
            TaskError::fatal(e)
        }
    }
}

/// Codes that no retry can fix.
const FATAL_CODES: &[&str] = &[
    "NoSuchBucket",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidBucketName",
    "NoSuchUpload",
    "EntityTooSmall",
    "InvalidPart",
    "InvalidPartOrder",
];

fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(e: &SdkError<E>) -> (bool, String) {
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("unknown").to_owned();
            let status = s.raw().status().as_u16();
            let msg = err.message().unwrap_or("").to_owned();
            let retriable = !FATAL_CODES.contains(&code.as_str()) && (status >= 500 || status == 429 || status == 408);
            let hint = match code.as_str() {
                "NoSuchBucket" => " (create the bucket, or check s3.bucket.name)",
                "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" => {
                    " (check aws.access.key.id / aws.secret.access.key or the AWS credential chain)"
                }
                _ => "",
            };
            (retriable, format!("{code} (HTTP {status}) {msg}{hint}"))
        }
        SdkError::ConstructionFailure(_) => (false, error_chain(e)),
        _ => (true, error_chain(e)),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    pub key: String,
    pub upload_id: String,
}

/// An HTTPS client that trusts `ca_pem` only (the endpoint's private CA), on rustls.
fn https_client(ca_pem: &[u8]) -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    let trust = tls::TrustStore::empty().with_native_roots(false).with_pem_certificate(ca_pem.to_vec());
    let context = tls::TlsContext::builder().with_trust_store(trust).build().expect("a TLS context from certificates");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// `AwsAssumeRoleCredentialsProvider`: credentials of `role`, assumed through STS with the
/// credentials `sdk` found (the default chain, or the connector's keys), refreshed before they
/// expire.
async fn assume_role(sdk: aws_config::SdkConfig, role: &AssumeRole) -> aws_config::SdkConfig {
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(&role.arn).session_name(&role.session_name);
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.configure(&sdk).build().await;
    sdk.into_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
        .build()
}

#[derive(Clone)]
pub struct Storage {
    client: Client,
    pub bucket: String,
    retries: u32,
    backoff: Duration,
}

impl Storage {
    pub async fn connect(c: &S3SinkConfig) -> Storage {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(c.region.clone()))
            // one retry layer: `retry` below, with s3.part.retries and s3.retry.backoff.ms
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            );
        if let (Some(key), Some(secret)) = (&c.access_key, &c.secret_key) {
            loader = loader.credentials_provider(Credentials::new(key, secret.expose(), None, None, "static"));
        }
        if let Some(url) = &c.endpoint {
            loader = loader.endpoint_url(url);
        }
        if let Some(ca) = &c.ca_pem {
            loader = loader.http_client(https_client(ca));
        }
        let mut sdk = loader.load().await;
        if let Some(role) = &c.assume_role {
            sdk = assume_role(sdk, role).await;
        }
        let conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(c.path_style).build();
        Storage {
            client: Client::from_conf(conf),
            bucket: c.bucket.clone(),
            retries: c.part_retries,
            backoff: c.retry_backoff,
        }
    }

    /// Runs `op` with the part retries; the last error is returned, classified.
    async fn retry<T, E, F, Fut>(&self, operation: &'static str, key: &str, mut op: F) -> Result<T, StorageError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E>>>,
    {
        let mut backoff = Backoff::new(self.backoff, Duration::from_secs(30));
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let (retriable, reason) = describe(&e);
                    if !retriable || backoff.attempts() >= self.retries {
                        let (bucket, key) = (self.bucket.clone(), key.to_owned());
                        return Err(if retriable {
                            StorageError::Retriable { operation, bucket, key, reason }
                        } else {
                            StorageError::Fatal { operation, bucket, key, reason }
                        });
                    }
                    let wait = backoff.fail();
                    warn!(operation, key, attempt = backoff.attempts(), retry_in_ms = wait.as_millis() as u64, error = %reason, "s3 call failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Checks the bucket is reachable and ours to write (HeadBucket).
    pub async fn check(&self) -> Result<(), StorageError> {
        match self.retry("HeadBucket", "", || self.client.head_bucket().bucket(&self.bucket).send()).await {
            Ok(_) => Ok(()),
            // a HEAD answer has no body: a 404 is the bucket missing
            Err(StorageError::Fatal { operation, bucket, key, reason }) if reason.contains("(HTTP 404)") => {
                Err(StorageError::Fatal {
                    operation,
                    reason: format!(
                        "NoSuchBucket: bucket {bucket} does not exist (create it, or check s3.bucket.name)"
                    ),
                    bucket,
                    key,
                })
            }
            Err(e) => Err(e),
        }
    }

    pub async fn put(&self, key: &str, body: bytes::Bytes) -> Result<(), StorageError> {
        self.retry("PutObject", key, || {
            self.client.put_object().bucket(&self.bucket).key(key).body(ByteStream::from(body.clone())).send()
        })
        .await?;
        debug!(key, "object written");
        Ok(())
    }

    pub async fn start_multipart(&self, key: &str) -> Result<Multipart, StorageError> {
        let out = self
            .retry("CreateMultipartUpload", key, || {
                self.client.create_multipart_upload().bucket(&self.bucket).key(key).send()
            })
            .await?;
        let upload_id = out.upload_id().unwrap_or_default().to_owned();
        Ok(Multipart { key: key.to_owned(), upload_id })
    }

    pub async fn upload_part(
        &self,
        mpu: &Multipart,
        number: i32,
        body: bytes::Bytes,
    ) -> Result<CompletedPart, StorageError> {
        let out = self
            .retry("UploadPart", &mpu.key, || {
                self.client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(&mpu.key)
                    .upload_id(&mpu.upload_id)
                    .part_number(number)
                    .body(ByteStream::from(body.clone()))
                    .send()
            })
            .await?;
        Ok(CompletedPart::builder().set_e_tag(out.e_tag().map(str::to_owned)).part_number(number).build())
    }

    pub async fn complete(&self, mpu: &Multipart, parts: &[CompletedPart]) -> Result<(), StorageError> {
        let done = CompletedMultipartUpload::builder().set_parts(Some(parts.to_vec())).build();
        self.retry("CompleteMultipartUpload", &mpu.key, || {
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&mpu.key)
                .upload_id(&mpu.upload_id)
                .multipart_upload(done.clone())
                .send()
        })
        .await?;
        debug!(key = %mpu.key, parts = parts.len(), "object completed");
        Ok(())
    }

    pub async fn abort(&self, mpu: &Multipart) -> Result<(), StorageError> {
        self.retry("AbortMultipartUpload", &mpu.key, || {
            self.client.abort_multipart_upload().bucket(&self.bucket).key(&mpu.key).upload_id(&mpu.upload_id).send()
        })
        .await
        .map(|_| ())
    }

    /// Multipart uploads under `prefix` that were started and never completed.
    pub async fn unfinished(&self, prefix: &str) -> Result<Vec<Multipart>, StorageError> {
        let mut found = Vec::new();
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let out = self
                .retry("ListMultipartUploads", prefix, || {
                    self.client
                        .list_multipart_uploads()
                        .bucket(&self.bucket)
                        .prefix(prefix)
                        .set_key_marker(key_marker.clone())
                        .set_upload_id_marker(id_marker.clone())
                        .send()
                })
                .await?;
            for u in out.uploads() {
                if let (Some(k), Some(id)) = (u.key(), u.upload_id()) {
                    found.push(Multipart { key: k.to_owned(), upload_id: id.to_owned() });
                }
            }
            if out.is_truncated() != Some(true) {
                return Ok(found);
            }
            key_marker = out.next_key_marker().map(str::to_owned);
            id_marker = out.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                return Ok(found);
            }
        }
    }
}
