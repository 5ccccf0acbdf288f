//! # The cluster CA and node certificates
//!
//! Every node proves who it is with a certificate signed by the cluster's
//! own certificate authority. The CA is created once per cluster
//! (`alopex cert create-ca`); its key signs one certificate per node
//! (`alopex cert create-node`) and is then best kept offline. A node holds
//! only its own key, its certificate and the CA certificate.
//!
//! ## Where the node id lives
//!
//! A node's id is written into its certificate as a **URI subject
//! alternative name**, `alopex://node/<id>` (decimal, no leading zeros).
//! The URI form is standard X.509 (RFC 5280 §4.2.1.6), survives every tool
//! that prints certificates, and cannot collide with the DNS and IP names a
//! certificate also carries. Exactly one such URI must be present; a
//! certificate with none, two, or a malformed one is refused. Because the
//! CA signed it, the id is as trustworthy as the CA: a peer never gets to
//! *claim* an id in a message, it is read from the certificate the TLS
//! handshake verified (see [`super::verify`]).
//!
//! The node's host names and IP addresses are added as ordinary DNS / IP
//! SANs so that operators' tools (and a later host-name check) see what
//! they expect; node-to-node authentication itself is by node id.
//!
//! ## Files
//!
//! | file        | what                                   | mode |
//! |-------------|----------------------------------------|------|
//! | `ca.crt`    | the CA certificate (PEM)               | 0644 |
//! | `ca.key`    | the CA private key (PKCS#8 PEM)        | 0600 |
//! | `node.crt`  | the node certificate (PEM)             | 0644 |
//! | `node.key`  | the node private key (PKCS#8 PEM)      | 0600 |
//!
//! A CA directory holds `ca.crt` and `ca.key`; a node directory holds
//! `node.crt`, `node.key` and a copy of `ca.crt`, so it is self-contained
//! and never holds the CA key. Keys are ECDSA P-256, written with mode 0600
//! from the moment the file is created (never chmod-ed afterwards), and an
//! existing file is never overwritten.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;

use crate::ids::NodeId;

/// The scheme and authority of the URI SAN that carries a node id.
pub const NODE_ID_URI_PREFIX: &str = "alopex://node/";
/// The CA certificate's file name, in both CA and node directories.
pub const CA_CERT_FILE: &str = "ca.crt";
/// The CA key's file name (CA directory only).
pub const CA_KEY_FILE: &str = "ca.key";
/// The node certificate's file name.
pub const NODE_CERT_FILE: &str = "node.crt";
/// The node key's file name.
pub const NODE_KEY_FILE: &str = "node.key";

/// How long a CA certificate is valid: ten years.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a node certificate is valid: two years.
const NODE_VALIDITY: Duration = Duration::from_secs(2 * 365 * 24 * 3600);
/// Certificates are back-dated by an hour to tolerate small clock skew.
const BACKDATE: Duration = Duration::from_secs(3600);

/// Why certificate material could not be created, read or used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Generating or signing a certificate failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A file exists where a new one would be written.
    #[error("{0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
    /// A PEM file did not hold what it should.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A certificate carries no usable node id.
    #[error("certificate has no valid node id: {0}")]
    NodeId(String),
    /// The system clock gives a time a certificate cannot hold.
    #[error("system clock out of range: {0}")]
    Clock(String),
    /// A host name given for a node certificate is not a DNS name or IP.
    #[error("invalid host name {0:?}")]
    Host(String),
}

/// A cluster CA: its certificate and the key that signs node certificates.
pub struct CertAuthority {
    cert_pem: String,
    key: KeyPair,
}

/// A freshly issued node certificate and its key, both PEM.
pub struct NodeCertificate {
    /// The node the certificate names.
    pub node_id: NodeId,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
}

fn validity(period: Duration) -> Result<(OffsetDateTime, OffsetDateTime), CertError> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let from = now.saturating_sub(BACKDATE).as_secs() as i64;
    let to = (now + period).as_secs() as i64;
    let err = |e: time::error::ComponentRange| CertError::Clock(e.to_string());
    Ok((OffsetDateTime::from_unix_timestamp(from).map_err(err)?, OffsetDateTime::from_unix_timestamp(to).map_err(err)?))
}

impl CertAuthority {
    /// Creates a new CA with a fresh key; `name` becomes its common name.
    pub fn generate(name: &str) -> Result<Self, CertError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Alopex");
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        (params.not_before, params.not_after) = validity(CA_VALIDITY)?;
        let cert = params.self_signed(&key)?;
        Ok(Self { cert_pem: cert.pem(), key })
    }

    /// Loads a CA from a directory written by [`CertAuthority::write`].
    pub fn load(dir: &Path) -> Result<Self, CertError> {
        let cert_pem = read_text(&dir.join(CA_CERT_FILE))?;
        let key_path = dir.join(CA_KEY_FILE);
        let key_pem = read_text(&key_path)?;
        let key = KeyPair::from_pem(&key_pem)
            .map_err(|e| CertError::Pem { path: key_path, message: format!("not a usable private key: {e}") })?;
        // Check early that the certificate parses, so signing errors are not
        // reported later as something vaguer.
        Issuer::from_ca_cert_pem(&cert_pem, &key).map_err(|e| CertError::Pem {
            path: dir.join(CA_CERT_FILE),
            message: format!("not a CA certificate: {e}"),
        })?;
        Ok(Self { cert_pem, key })
    }

    /// Writes `ca.crt` and `ca.key` (mode 0600) into `dir`, creating it.
    pub fn write(&self, dir: &Path) -> Result<(), CertError> {
        create_dir(dir)?;
        write_new(&dir.join(CA_KEY_FILE), self.key.serialize_pem().as_bytes(), 0o600)?;
        write_new(&dir.join(CA_CERT_FILE), self.cert_pem.as_bytes(), 0o644)
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues a certificate for `node_id`, valid for `hosts` (DNS names or IP
    /// addresses) besides the node-id URI. It is usable as both a TLS server
    /// and a TLS client certificate, as every node is both.
    pub fn issue(&self, node_id: NodeId, hosts: &[String]) -> Result<NodeCertificate, CertError> {
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "Alopex");
        dn.push(DnType::CommonName, format!("alopex node {}", node_id.0));
        params.distinguished_name = dn;
        let uri = format!("{NODE_ID_URI_PREFIX}{}", node_id.0);
        params.subject_alt_names.push(SanType::URI(uri.try_into()?));
        for host in hosts {
            let san = match host.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => {
                    if !is_dns_name(host) {
                        return Err(CertError::Host(host.clone()));
                    }
                    SanType::DnsName(host.clone().try_into()?)
                }
            };
            params.subject_alt_names.push(san);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        (params.not_before, params.not_after) = validity(NODE_VALIDITY)?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(NodeCertificate { node_id, cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }
}

impl NodeCertificate {
    /// Writes `node.crt`, `node.key` (mode 0600) and the CA's `ca.crt` into
    /// `dir`, creating it.
    pub fn write(&self, dir: &Path, ca_cert_pem: &str) -> Result<(), CertError> {
        create_dir(dir)?;
        write_new(&dir.join(NODE_KEY_FILE), self.key_pem.as_bytes(), 0o600)?;
        write_new(&dir.join(NODE_CERT_FILE), self.cert_pem.as_bytes(), 0o644)?;
        write_new(&dir.join(CA_CERT_FILE), ca_cert_pem.as_bytes(), 0o644)
    }
}

/// A node's TLS material, as DER, ready for rustls: its certificate, its
/// key, the CA to trust, and the node id its certificate names.
#[derive(Debug)]
pub struct NodeIdentity {
    /// The id read from `cert`.
    pub node_id: NodeId,
    /// The node's certificate.
    pub cert: CertificateDer<'static>,
    /// The node's private key.
    pub key: PrivateKeyDer<'static>,
    /// The cluster CA certificate, the only trust anchor.
    pub ca: CertificateDer<'static>,
}

impl Clone for NodeIdentity {
    fn clone(&self) -> Self {
        Self { node_id: self.node_id, cert: self.cert.clone(), key: self.key.clone_key(), ca: self.ca.clone() }
    }
}

impl NodeIdentity {
    /// Builds the identity from PEM text (certificate, key, CA certificate).
    pub fn from_pem(cert_pem: &str, key_pem: &str, ca_pem: &str) -> Result<Self, CertError> {
        let pem_err = |what: &str, e: rustls_pki_types::pem::Error| CertError::Pem {
            path: PathBuf::from(what),
            message: e.to_string(),
        };
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| pem_err(NODE_CERT_FILE, e))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| pem_err(NODE_KEY_FILE, e))?;
        let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|e| pem_err(CA_CERT_FILE, e))?;
        let node_id = node_id_of(&cert)?;
        Ok(Self { node_id, cert, key, ca })
    }

    /// Loads the identity from a node directory (`node.crt`, `node.key`,
    /// `ca.crt`).
    pub fn load(dir: &Path) -> Result<Self, CertError> {
        let read = |name: &str| read_text(&dir.join(name));
        Self::from_pem(&read(NODE_CERT_FILE)?, &read(NODE_KEY_FILE)?, &read(CA_CERT_FILE)?).map_err(|e| match e {
            CertError::Pem { path, message } => CertError::Pem { path: dir.join(path), message },
            other => other,
        })
    }

    /// Issues a node certificate from `ca` and returns it as an identity
    /// (tests and tools that never touch the disk).
    pub fn issue(ca: &CertAuthority, node_id: NodeId, hosts: &[String]) -> Result<Self, CertError> {
        let node = ca.issue(node_id, hosts)?;
        Self::from_pem(&node.cert_pem, &node.key_pem, ca.cert_pem())
    }
}

/// Reads the node id from a certificate's `alopex://node/<id>` URI SAN.
/// The caller must already have verified that the certificate chains to
/// the cluster CA; this only parses.
pub fn node_id_of(cert: &CertificateDer<'_>) -> Result<NodeId, CertError> {
    use x509_parser::extensions::GeneralName;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| CertError::NodeId(format!("unparsable certificate: {e}")))?;
    let san = parsed
        .subject_alternative_name()
        .map_err(|e| CertError::NodeId(format!("bad subject alternative names: {e}")))?
        .ok_or_else(|| CertError::NodeId("no subject alternative names".into()))?;
    let mut found = None;
    for name in &san.value.general_names {
        if let GeneralName::URI(uri) = name
            && let Some(rest) = uri.strip_prefix(NODE_ID_URI_PREFIX)
        {
            if found.is_some() {
                return Err(CertError::NodeId("more than one node id".into()));
            }
            let valid =
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) && (rest == "0" || !rest.starts_with('0'));
            let id = rest.parse::<u64>().ok().filter(|_| valid);
            found = Some(id.ok_or_else(|| CertError::NodeId(format!("malformed node id URI {uri:?}")))?);
        }
    }
    found.map(NodeId).ok_or_else(|| CertError::NodeId(format!("no {NODE_ID_URI_PREFIX}<id> URI")))
}

fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn read_text(path: &Path) -> Result<String, CertError> {
    fs::read_to_string(path).map_err(|source| CertError::Io { path: path.to_owned(), source })
}

fn create_dir(dir: &Path) -> Result<(), CertError> {
    fs::create_dir_all(dir).map_err(|source| CertError::Io { path: dir.to_owned(), source })
}

/// Creates `path` with `mode` (never overwriting), writes and syncs it.
fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), CertError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let io = |source| CertError::Io { path: path.to_owned(), source };
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists { CertError::Exists(path.to_owned()) } else { io(e) }
    })?;
    file.write_all(data).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_round_trips_through_the_certificate() {
        let ca = CertAuthority::generate("test CA").unwrap();
        let id = NodeIdentity::issue(&ca, NodeId(42), &["localhost".into(), "127.0.0.1".into()]).unwrap();
        assert_eq!(id.node_id, NodeId(42));
        assert_eq!(node_id_of(&id.cert).unwrap(), NodeId(42));
    }

    #[test]
    fn a_certificate_without_node_id_is_refused() {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
        let err = node_id_of(cert.der()).unwrap_err();
        assert!(err.to_string().contains("no alopex://node/"), "{err}");
    }

    #[test]
    fn bad_hosts_are_refused() {
        let ca = CertAuthority::generate("test CA").unwrap();
        assert!(matches!(ca.issue(NodeId(1), &["bad host".into()]), Err(CertError::Host(_))));
    }

    #[test]
    fn files_are_written_with_private_keys_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertAuthority::generate("test CA").unwrap();
        ca.write(&dir.path().join("ca")).unwrap();
        assert!(matches!(ca.write(&dir.path().join("ca")), Err(CertError::Exists(_))));
        let ca = CertAuthority::load(&dir.path().join("ca")).unwrap();
        ca.issue(NodeId(7), &[]).unwrap().write(&dir.path().join("n7"), ca.cert_pem()).unwrap();
        let loaded = NodeIdentity::load(&dir.path().join("n7")).unwrap();
        assert_eq!(loaded.node_id, NodeId(7));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for key in [dir.path().join("ca").join(CA_KEY_FILE), dir.path().join("n7").join(NODE_KEY_FILE)] {
                assert_eq!(fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
            }
        }
    }
}
