//! Who may connect: trust until users exist, then SCRAM-SHA-256.
//!
//! PostgreSQL decides how a connection authenticates from `pg_hba.conf`;
//! Alopex has one rule with three settings (`auth` in the config):
//!
//! * `auto` (the default): **trust** while no user exists, neither in the
//!   database (`CREATE USER`) nor in the config file (`[[users]]`), so a
//!   fresh `alopex serve` needs no setup, as issue 5 asks. Once any user
//!   exists, **every** new connection must pass SCRAM-SHA-256. The check is
//!   made for each connection when it starts, so the first `CREATE USER`
//!   takes effect for the next connection; connections already open keep
//!   their session, as PostgreSQL's do when `pg_hba.conf` is reloaded.
//! * `trust`: never ask (a lost password can be reset this way, like
//!   editing `pg_hba.conf` to `trust`).
//! * `scram`: always ask, even before any user exists.
//!
//! SCRAM itself is pgwire's (`SASLAuthStartupHandler`, `ScramAuth`): the
//! server checks the client's proof against the stored verifier and proves
//! it knew the verifier in return; the password never crosses the wire
//! and is never stored. On a TLS connection the server also offers
//! `SCRAM-SHA-256-PLUS`, which binds the exchange to the server's
//! certificate (`tls-server-end-point`), so a man in the middle holding
//! another certificate cannot relay it; libpq uses it by default.
//!
//! **No user enumeration.** An unknown user, a user without a password or
//! without LOGIN gets a *mock* exchange, as in PostgreSQL: a verifier whose
//! salt is derived from the user name and a per-process random key (so the
//! same name always shows the same salt) and whose keys nobody knows. The
//! exchange then fails exactly as a wrong password does, with
//! `28P01 password authentication failed for user "…"`.
//!
//! The startup handler is per connection ([`ConnectionStartup`]), because
//! once a client is in, its session learns who it is: `current_user` and
//! `session_user` answer the name the client authenticated as (with trust,
//! the name it sent).

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use alopex_sql::Database;
use alopex_sql::users::ScramVerifier;
use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{ScramAuth, ScramSecret};
use pgwire::api::auth::{AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler};
use pgwire::api::{ClientInfo, ConnectionManager, METADATA_USER, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use super::cancel::Running;
use super::handler::PgConnection;
use crate::config::{AuthMode, ConfigUser};

/// Startup without authentication (trust). It issues the connection's
/// BackendKeyData and registers it for cancel requests.
struct TrustStartup {
    cancels: Arc<ConnectionManager>,
}

impl NoopStartupHandler for TrustStartup {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.cancels.clone())
    }
}

/// Why authentication could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A `[[users]]` entry has a verifier that does not parse.
    #[error("user \"{0}\" in the config file has an invalid SCRAM-SHA-256 verifier")]
    BadVerifier(String),
    /// The system's random source failed.
    #[error("cannot seed the authenticator: the system random source failed")]
    Random,
    /// Hashing a password failed.
    #[error("cannot hash the password of user \"{0}\": {1}")]
    Hash(String, String),
}

/// The users and the rule: decides whether a connection needs a password
/// and finds the SCRAM secret for a user name.
pub struct Authenticator {
    db: Database,
    mode: AuthMode,
    file_users: HashMap<String, ScramVerifier>,
    /// Keys the mock verifiers of unknown users.
    mock_key: [u8; 32],
}

impl Authenticator {
    /// The rule `mode` over the users of `db` and of the config file
    /// (whose cleartext passwords are hashed here, once).
    pub fn new(db: Database, mode: AuthMode, users: &[ConfigUser]) -> Result<Authenticator, AuthError> {
        let mut file_users = HashMap::new();
        for u in users {
            let verifier = match (&u.verifier, &u.password) {
                (Some(v), _) => ScramVerifier::parse(v).ok_or_else(|| AuthError::BadVerifier(u.name.clone()))?,
                (None, Some(p)) => {
                    ScramVerifier::from_password(p).map_err(|e| AuthError::Hash(u.name.clone(), e.message))?
                }
                (None, None) => continue,
            };
            file_users.insert(u.name.clone(), verifier);
        }
        let mut mock_key = [0u8; 32];
        SystemRandom::new().fill(&mut mock_key).map_err(|_| AuthError::Random)?;
        Ok(Authenticator { db, mode, file_users, mock_key })
    }

    /// The configured rule.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Whether a connection starting now must authenticate.
    pub async fn password_required(&self) -> PgWireResult<bool> {
        match self.mode {
            AuthMode::Trust => Ok(false),
            AuthMode::Scram => Ok(true),
            AuthMode::Auto if !self.file_users.is_empty() => Ok(true),
            AuthMode::Auto => {
                let db = self.db.clone();
                let found = tokio::task::spawn_blocking(move || db.has_users())
                    .await
                    .map_err(|e| fatal("XX000", format!("cannot read users: {e}")))?;
                found.map_err(|e| fatal(e.state.code(), format!("cannot read users: {}", e.message)))
            }
        }
    }

    /// The secret `user` authenticates against: its verifier, or a mock
    /// one no password matches (module documentation).
    async fn secret(&self, user: &str) -> PgWireResult<ScramSecret> {
        if let Some(v) = self.file_users.get(user) {
            return Ok(secret_of(v));
        }
        let db = self.db.clone();
        let name = user.to_string();
        let stored = tokio::task::spawn_blocking(move || db.user(&name))
            .await
            .map_err(|e| fatal("XX000", format!("cannot read users: {e}")))?
            .map_err(|e| fatal(e.state.code(), format!("cannot read users: {}", e.message)))?;
        Ok(match stored.filter(|u| u.login).and_then(|u| u.verifier) {
            Some(v) => secret_of(&v),
            None => self.mock(user),
        })
    }

    /// A verifier for a user that does not exist: stable per name, never
    /// matched by any password.
    fn mock(&self, user: &str) -> ScramSecret {
        let derive = |label: &[u8]| {
            let mut ctx = digest::Context::new(&digest::SHA256);
            ctx.update(&self.mock_key);
            ctx.update(label);
            ctx.update(user.as_bytes());
            ctx.finish().as_ref().to_vec()
        };
        let mut salt = derive(b"salt");
        salt.truncate(16);
        ScramSecret::Verifier { salt, iterations: 4096, stored_key: derive(b"stored"), server_key: derive(b"server") }
    }
}

impl Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .field("file_users", &self.file_users.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn secret_of(v: &ScramVerifier) -> ScramSecret {
    ScramSecret::Verifier {
        salt: v.salt.clone(),
        iterations: v.iterations as usize,
        stored_key: v.stored_key.clone(),
        server_key: v.server_key.clone(),
    }
}

/// A FATAL ErrorResponse (which ends the connection).
fn fatal(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("FATAL".into(), code.into(), message.into())))
}

/// pgwire's view of the users, for its SCRAM mechanism.
#[derive(Debug)]
struct UserSource(Arc<Authenticator>);

#[async_trait]
impl AuthSource for UserSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        // Only SCRAM is offered, which asks for get_scram_secret.
        Err(PgWireError::InvalidPassword(login.user().unwrap_or_default().to_string()))
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = login.user().ok_or(PgWireError::UserNameRequired)?;
        Ok((self.0.secret(user).await?, None))
    }
}

type Sasl = SASLAuthStartupHandler<DefaultServerParameterProvider>;

/// The startup handlers every connection shares.
pub struct PgAuth {
    authenticator: Arc<Authenticator>,
    trust: TrustStartup,
    /// SCRAM-SHA-256 (connections without TLS).
    plain: Sasl,
    /// SCRAM-SHA-256 and -PLUS (TLS connections), when TLS is configured.
    secure: Option<Sasl>,
    tls_required: bool,
}

impl PgAuth {
    /// Authentication by `authenticator`'s rule; `cert_pem` is the TLS
    /// certificate (for channel binding) when TLS is on. Connections are
    /// registered with `cancels` for cancel requests.
    pub fn new(
        authenticator: Arc<Authenticator>,
        cancels: Arc<ConnectionManager>,
        cert_pem: Option<&[u8]>,
        tls_required: bool,
    ) -> PgAuth {
        let source: Arc<dyn AuthSource> = Arc::new(UserSource(authenticator.clone()));
        let sasl = |scram: ScramAuth| {
            SASLAuthStartupHandler::new(Arc::new(DefaultServerParameterProvider::default()))
                .with_scram(scram)
                .with_connection_manager(cancels.clone())
        };
        let plain = sasl(ScramAuth::new(source.clone()));
        let secure = cert_pem.map(|pem| {
            let mut scram = ScramAuth::new(source.clone());
            if let Err(e) = scram.configure_certificate(pem) {
                tracing::warn!("SCRAM channel binding is off: {e}");
            }
            sasl(scram)
        });
        PgAuth { authenticator, trust: TrustStartup { cancels }, plain, secure, tls_required }
    }

    fn sasl(&self, secure: bool) -> &Sasl {
        match (&self.secure, secure) {
            (Some(s), true) => s,
            _ => &self.plain,
        }
    }
}

/// One connection's startup: [`PgAuth`]'s rule, then the session learns
/// its user.
pub struct ConnectionStartup {
    auth: Arc<PgAuth>,
    connection: Arc<PgConnection>,
    running: Arc<Running>,
}

impl ConnectionStartup {
    /// The startup of `connection`, which registers its running statements
    /// in `running` for cancel requests once the client is in.
    pub fn new(auth: Arc<PgAuth>, connection: Arc<PgConnection>, running: Arc<Running>) -> ConnectionStartup {
        ConnectionStartup { auth, connection, running }
    }
}

#[async_trait]
impl StartupHandler for ConnectionStartup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let secure = client.is_secure();
        let result = match message {
            PgWireFrontendMessage::Startup(_) if self.auth.tls_required && !secure => {
                Err(fatal("28000", "this server requires TLS (tls_required is on); connect with sslmode=require"))
            }
            PgWireFrontendMessage::Startup(_) if !self.auth.authenticator.password_required().await? => {
                self.auth.trust.on_startup(client, message).await
            }
            message => self.auth.sasl(secure).on_startup(client, message).await,
        };
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        match result {
            Ok(()) => {
                if matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
                    self.connection.set_user(&user);
                    let (pid, key) = client.pid_and_secret_key();
                    self.running.register(pid, &key, self.connection.running());
                }
                Ok(())
            }
            // PostgreSQL's words, whichever way the proof failed.
            Err(PgWireError::InvalidPassword(_)) => {
                tracing::info!(%user, peer = %client.socket_addr(), "password authentication failed");
                Err(fatal("28P01", format!("password authentication failed for user \"{user}\"")))
            }
            Err(e) => Err(e),
        }
    }
}
