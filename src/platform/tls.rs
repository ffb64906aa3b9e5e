//! TLS for the platform link: rustls with the `ring` provider (nothing to build with cmake or nasm).
//! The hall trusts only the certificates its `[platform] ca_file` names, never the system's roots:
//! a platform certificate from any public CA is not enough to receive a hall's citizens' data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError("no certificate in the PEM file".into()));
    }
    Ok(certs)
}

/// A client that trusts the certificates in `pem` alone (the platform's own, or its CA's).
pub fn pinned_client_config(pem: &[u8]) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(pem)? {
        roots
            .add(cert)
            .map_err(|e| TlsError(format!("unusable certificate: {e}")))?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A client for plain HTTP only: it trusts nothing, so an https:// URL fails.
pub fn trusting_nothing() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// The receiver's certificate chain and key, both PEM.
#[derive(Clone)]
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
}

impl TlsIdentity {
    /// A new self-signed certificate for `names` (host names or IP addresses).
    pub fn self_signed(names: &[&str]) -> Result<TlsIdentity, TlsError> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let made =
            rcgen::generate_simple_self_signed(names).map_err(|e| TlsError(e.to_string()))?;
        Ok(TlsIdentity {
            cert_pem: made.cert.pem(),
            key_pem: Zeroizing::new(made.signing_key.serialize_pem()),
        })
    }

    fn server_config(&self) -> Result<rustls::ServerConfig, TlsError> {
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| TlsError(format!("not a PEM private key: {e}")))?;
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certificates(self.cert_pem.as_bytes())?, key)
            .map_err(|e| TlsError(format!("the certificate and key do not fit: {e}")))
    }
}

/// How long a client may take over its handshake before the receiver drops it.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// A listener that completes each connection's TLS handshake before handing it to the server.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, identity: &TlsIdentity) -> Result<TlsListener, TlsError> {
        Ok(TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(identity.server_config()?)),
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("platform receiver: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match tokio::time::timeout(HANDSHAKE_TIME, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => tracing::warn!("platform receiver: TLS handshake with {addr}: {e}"),
                Err(_) => tracing::warn!("platform receiver: TLS handshake with {addr} too slow"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}
