//! # Mutual TLS between nodes: both sides prove a node id
//!
//! Node-to-node connections are mutual TLS 1.3 (the only version QUIC
//! allows). Each side presents its node certificate and checks the other's:
//!
//! 1. the peer's chain must end at the **cluster CA** (the only trust
//!    anchor; the system roots are never consulted), be within its validity
//!    period and carry the right extended key usage (node certificates
//!    carry both server and client auth);
//! 2. the peer's certificate must carry exactly one `alopex://node/<id>`
//!    URI (see [`super::cert`]); a certificate without one is refused
//!    during the handshake, so such a peer never gets a connection.
//!
//! The server name a dialer puts in the handshake is not checked against
//! the certificate: nodes are addressed by id, and the transport compares
//! the id it expected with the one the verified certificate names once the
//! handshake completes ([`peer_node_id`]). That keeps dialing by a seed
//! address (whose id is not yet known) possible without weakening anything.
//!
//! Only the `ring` crypto provider is used, passed explicitly to every
//! builder; [`install_ring_provider`] also installs it as the process
//! default so that no other provider (aws-lc-rs panicked next to quinn's
//! ring) is ever picked implicitly.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::cert::{NodeIdentity, node_id_of};
use crate::ids::NodeId;

/// The ALPN protocol name of Alopex's node-to-node protocol, version 1.
pub const ALPN: &[u8] = b"alopex-node/1";

/// The `ring` crypto provider.
pub fn ring_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Installs `ring` as the process-wide default crypto provider (a no-op
/// if a provider is already installed).
pub fn install_ring_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rustls refused the material or the settings.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The CA certificate cannot serve as a trust anchor.
    #[error("the CA certificate is unusable: {0}")]
    Ca(String),
}

fn roots(identity: &NodeIdentity) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.add(identity.ca.clone()).map_err(|e| TlsError::Ca(e.to_string()))?;
    Ok(Arc::new(roots))
}

fn require_node_id(cert: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    node_id_of(cert).map(|_| ()).map_err(|e| {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(Arc::new(e))))
    })
}

/// The rustls server configuration: present our certificate, require a
/// client certificate from the cluster CA that names a node.
pub fn server_config(identity: &NodeIdentity) -> Result<rustls::ServerConfig, TlsError> {
    let provider = ring_provider();
    let inner = WebPkiClientVerifier::builder_with_provider(roots(identity)?, provider.clone())
        .build()
        .map_err(|e| TlsError::Ca(e.to_string()))?;
    let verifier = Arc::new(NodeClientVerifier { inner });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.cert.clone()], identity.key.clone_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The rustls client configuration: present our certificate, accept only
/// a server certificate from the cluster CA that names a node.
pub fn client_config(identity: &NodeIdentity) -> Result<rustls::ClientConfig, TlsError> {
    let provider = ring_provider();
    let verifier = Arc::new(NodeServerVerifier {
        roots: roots(identity)?,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous() // a custom verifier, stricter than the default: see the module doc
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![identity.cert.clone()], identity.key.clone_key())?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// The node id of the peer of an established connection, read from the
/// certificate the handshake verified.
pub fn peer_node_id(certs: &[CertificateDer<'static>]) -> Option<NodeId> {
    certs.first().and_then(|c| node_id_of(c).ok())
}

/// Checks client certificates: chains to the CA (webpki) and names a node.
#[derive(Debug)]
struct NodeClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for NodeClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        require_node_id(end_entity)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Checks server certificates: chains to the CA and names a node; the
/// server name is deliberately not matched (see the module doc).
#[derive(Debug)]
struct NodeServerVerifier {
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NodeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        require_node_id(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
