//! librdkafka's OAUTHBEARER token callback for every Kafka client sluice makes. librdkafka's own
//! token sources (OIDC client credentials, unsecured tokens) need nothing from here; the
//! callback answers for tokens sluice signs itself: Amazon MSK IAM ([`super::msk_iam`]).
//! Clients without a context of their own use [`AuthContext`]; admin clients, whose token events
//! rdkafka never polls, are wrapped in [`Admin`].

use std::error::Error;
use std::ffi::CString;
use std::sync::Mutex;
use std::time::SystemTime;

use rdkafka::admin::AdminClient;
use rdkafka::client::{Client, ClientContext, OAuthToken};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::producer::{DeliveryResult, ProducerContext};
use tracing::warn;

use super::msk_iam::{MskIam, MskToken};

/// Inside an `impl ClientContext`: answer librdkafka's token requests with [`oauth_token`].
macro_rules! answer_token_requests {
    () => {
        const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;
        fn generate_oauth_token(
            &self,
            config: Option<&str>,
        ) -> Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
            $crate::worker::oauth_token(config)
        }
    };
}
pub(crate) use answer_token_requests;

/// The token for librdkafka's `sasl.oauthbearer.config` when sluice makes it.
pub fn oauth_token(config: Option<&str>) -> Result<OAuthToken, Box<dyn Error>> {
    let msk = config.and_then(MskIam::from_config).ok_or("no token source in sasl.oauthbearer.config")?;
    let token = msk.token().inspect_err(|e| warn!(error = %e, "cannot make an OAUTHBEARER token"))?;
    Ok(OAuthToken { token: token.value, principal_name: "aws-msk-iam".into(), lifetime_ms: token.expires_ms })
}

/// A client context that only answers token requests (logging as rdkafka's default).
#[derive(Debug, Default, Clone, Copy)]
pub struct AuthContext;

impl ClientContext for AuthContext {
    answer_token_requests!();
}

impl ConsumerContext for AuthContext {}

impl ProducerContext for AuthContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// An admin client with its token when sluice signs it: rdkafka's admin client never asks for
/// one, so it is given one when made and a fresh one when fetched within five minutes of the
/// last one's end (MSK tokens last 15).
pub struct Admin {
    client: AdminClient<AuthContext>,
    msk: Option<MskIam>,
    expires_ms: Mutex<i64>,
}

impl Admin {
    pub fn new(cfg: &ClientConfig) -> KafkaResult<Admin> {
        let client: AdminClient<AuthContext> = cfg.create_with_context(AuthContext)?;
        let msk = cfg.get("sasl.oauthbearer.config").and_then(MskIam::from_config);
        Ok(Admin { client, msk, expires_ms: Mutex::new(0) })
    }

    /// The client, its token renewed when due.
    pub fn client(&self) -> &AdminClient<AuthContext> {
        if let Some(msk) = &self.msk {
            let mut expires = self.expires_ms.lock().unwrap_or_else(|p| p.into_inner());
            let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
            if *expires - now < 5 * 60 * 1000 {
                match msk.token().map(|t| (set_token(self.client.inner(), &t), t.expires_ms)) {
                    Ok((Ok(()), at)) => *expires = at,
                    Ok((Err(e), _)) => warn!(error = %e, "the admin client refused its OAUTHBEARER token"),
                    Err(e) => warn!(error = %e, "cannot make the admin client's OAUTHBEARER token"),
                }
            }
        }
        &self.client
    }
}

/// Gives a client made from `cfg` its first token now, when sluice signs it: librdkafka asks
/// for tokens through events served by polls, and calls that block before the first poll
/// (metadata, committed offsets) would wait for one otherwise.
pub fn seed_token<C: ClientContext>(client: &Client<C>, cfg: &ClientConfig) {
    let Some(msk) = cfg.get("sasl.oauthbearer.config").and_then(MskIam::from_config) else { return };
    match msk.token() {
        Ok(token) => {
            if let Err(e) = set_token(client, &token) {
                warn!(error = %e, "the Kafka client refused its OAUTHBEARER token");
            }
        }
        Err(e) => warn!(error = %e, "cannot make an OAUTHBEARER token"),
    }
}

#[allow(unsafe_code)]
fn set_token<C: ClientContext>(client: &Client<C>, token: &MskToken) -> Result<(), KafkaError> {
    let value = CString::new(token.value.as_str()).map_err(|_| KafkaError::Canceled)?;
    let principal = CString::new("aws-msk-iam").expect("no NUL");
    let mut errstr = [0 as std::os::raw::c_char; 512];
    // SAFETY: the client pointer is alive for the borrow of `client`; the strings are
    // NUL-terminated and outlive the call, which copies them; no extensions are passed;
    // `errstr` is writable for its stated length.
    let code = unsafe {
        rdkafka::bindings::rd_kafka_oauthbearer_set_token(
            client.native_ptr(),
            value.as_ptr(),
            token.expires_ms,
            principal.as_ptr(),
            std::ptr::null_mut(),
            0,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    match rdkafka::types::RDKafkaErrorCode::from(code) {
        rdkafka::types::RDKafkaErrorCode::NoError => Ok(()),
        other => Err(KafkaError::AdminOpCreation(format!("{other:?}"))),
    }
}
