//! TLS on the Postgres wire port.
//!
//! A PostgreSQL client asks for TLS with an SSLRequest before its startup
//! message; the server answers `S` and the TLS handshake follows on the same
//! socket, or `N` and the client decides whether to go on in cleartext
//! (`sslmode=prefer`) or hang up (`sslmode=require`). pgwire does that
//! dance and the handshake when it is given an acceptor, and answers `N`
//! without one; this file only builds the acceptor from the configured PEM
//! files.
//!
//! The crypto provider is `ring`, named explicitly rather than taken from
//! the process default, because the workspace must never pull in aws-lc-rs
//! (see `docs/server.md`). The server offers the ALPN protocol
//! `postgresql`, which PostgreSQL 17's direct-TLS clients insist on and
//! older clients ignore.
//!
//! Everything that can be wrong with the files (missing, unreadable, no
//! certificate in them, no key, a key that does not match) is found here at
//! startup, so `alopex serve` refuses to start with a message naming the
//! file, instead of failing every client's handshake later.

use std::path::Path;
use std::sync::Arc;

use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls;
use rustls::crypto::ring::default_provider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsFiles;

/// The TLS setup of the Postgres wire port.
pub struct PgTls {
    /// Accepts TLS handshakes.
    pub acceptor: TlsAcceptor,
    /// The certificate chain as PEM, for SCRAM channel binding
    /// (`tls-server-end-point` hashes the server's certificate).
    pub cert_pem: Vec<u8>,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the certificate and key (for example, they do not match).
    #[error("cannot use certificate {cert} with key {key}: {message}")]
    Config {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// rustls' reason.
        message: String,
    },
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.display().to_string(), source })
}

/// Loads the certificate chain and key and builds the acceptor.
pub fn load(files: &TlsFiles) -> Result<PgTls, TlsError> {
    let cert_name = files.cert.display().to_string();
    let key_name = files.key.display().to_string();
    let cert_pem = read(&files.cert, "certificate")?;
    let key_pem = read(&files.key, "private key")?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: cert_name.clone(), message: format!("invalid PEM: {e}") })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { path: cert_name, message: "no CERTIFICATE in the file".into() });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| TlsError::Pem { path: key_name.clone(), message: format!("no usable private key: {e}") })?;
    let config_error = |message: String| TlsError::Config { cert: cert_name.clone(), key: key_name.clone(), message };
    let provider = Arc::new(default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| config_error(e.to_string()))?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(PgTls { acceptor: TlsAcceptor::from(Arc::new(config)), cert_pem })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        std::fs::write(dir.join("c.pem"), cert).unwrap();
        std::fs::write(dir.join("k.pem"), key).unwrap();
        TlsFiles { cert: dir.join("c.pem"), key: dir.join("k.pem") }
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TlsFiles { cert: dir.path().join("nope.pem"), key: dir.path().join("nope.key") };
        let err = load(&missing).err().unwrap().to_string();
        assert!(err.contains("cannot read certificate") && err.contains("nope.pem"), "{err}");

        let err = load(&files(dir.path(), "not pem", "not pem")).err().unwrap().to_string();
        assert!(err.contains("no CERTIFICATE"), "{err}");

        let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let ok = files(dir.path(), &generated.cert.pem(), &generated.signing_key.serialize_pem());
        assert!(load(&ok).is_ok());
        let err = load(&files(dir.path(), &generated.cert.pem(), "")).err().unwrap().to_string();
        assert!(err.contains("no usable private key"), "{err}");
        let mismatched = files(dir.path(), &generated.cert.pem(), &other.signing_key.serialize_pem());
        let err = load(&mismatched).err().unwrap().to_string();
        assert!(err.contains("cannot use certificate"), "{err}");
    }
}
