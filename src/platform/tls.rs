//! TLS for the platform link: rustls with the `ring` provider (nothing to build with cmake or nasm).
//! The hall trusts only the certificates its `[platform] ca_file` names, never the system's roots:
//! a platform certificate from any public CA is not enough to receive a hall's citizens' data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
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

fn trust_store(pem: &[u8]) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(pem)? {
        roots
            .add(cert)
            .map_err(|e| TlsError(format!("unusable certificate: {e}")))?;
    }
    Ok(roots)
}

fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| TlsError(format!("not a PEM private key: {e}")))
}

/// A client that trusts the certificates in `pem` alone (the platform's own, or its CA's), and shows
/// `own` when the platform asks for a client certificate (mutual TLS).
pub fn pinned_client_config(
    pem: &[u8],
    own: Option<&TlsIdentity>,
) -> Result<rustls::ClientConfig, TlsError> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?
        .with_root_certificates(trust_store(pem)?);
    match own {
        None => Ok(builder.with_no_client_auth()),
        Some(own) => builder
            .with_client_auth_cert(
                certificates(own.cert_pem.as_bytes())?,
                private_key(&own.key_pem)?,
            )
            .map_err(|e| TlsError(format!("the hall's certificate and key do not fit: {e}"))),
    }
}

/// A client for plain HTTP only: it trusts nothing, so an https:// URL fails.
pub fn trusting_nothing() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

/// A certificate chain and its key, both PEM: the receiver's for HTTPS, or a hall's for mutual TLS.
#[derive(Clone)]
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
}

/// Shows the certificate, never the key.
impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
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

    /// Reads a certificate file and its key file; a key others may read is refused, as it may
    /// have been copied.
    pub fn load(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsIdentity, TlsError> {
        use crate::identity::PrivateReadError;
        let key_bytes = crate::identity::read_private_file(key).map_err(|e| match e {
            PrivateReadError::Unreadable(e) => TlsError(format!("{}: {e}", key.display())),
            PrivateReadError::Exposed { mode } => TlsError(format!(
                "the private key {path} can be read by other users (mode {mode:o}); make it \
                 readable by the service alone: chmod 600 {path}",
                path = key.display(),
            )),
        })?;
        let key_pem = std::str::from_utf8(&key_bytes)
            .map_err(|_| TlsError(format!("{}: not a PEM private key", key.display())))?;
        let identity = TlsIdentity {
            cert_pem: std::fs::read_to_string(cert)
                .map_err(|e| TlsError(format!("{}: {e}", cert.display())))?,
            key_pem: Zeroizing::new(key_pem.to_string()),
        };
        certificates(identity.cert_pem.as_bytes())?;
        private_key(&identity.key_pem)?;
        Ok(identity)
    }

    /// The server's configuration; with `client_roots`, every client must show a certificate that
    /// chains to one of them (mutual TLS), and one that does not is refused in the handshake.
    fn server_config(&self, client_roots: Option<&[u8]>) -> Result<rustls::ServerConfig, TlsError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?;
        let builder = match client_roots {
            None => builder.with_no_client_auth(),
            Some(pem) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(trust_store(pem)?),
                    provider(),
                )
                .build()
                .map_err(|e| TlsError(format!("the client certificates to trust: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        builder
            .with_single_cert(
                certificates(self.cert_pem.as_bytes())?,
                private_key(&self.key_pem)?,
            )
            .map_err(|e| TlsError(format!("the certificate and key do not fit: {e}")))
    }
}

/// How long a client may take over its handshake before the receiver drops it.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// Handshakes under way at once; a further connection waits in the kernel's backlog until one
/// ends, so a flood of silent sockets holds memory for this many at most.
const MAX_HANDSHAKES: usize = 256;

/// The end-entity certificate a client showed in its handshake, if any, for the receiver to check
/// the hall a request claims against.
#[derive(Debug, Clone, Default)]
pub struct ClientCertificate(Option<CertificateDer<'static>>);

impl ClientCertificate {
    /// Whether the certificate names `hall_id` as one of its subject alternative names (a DNS
    /// name, compared without regard to case). A hall id that cannot be a DNS name is named by no
    /// certificate.
    pub fn names_hall(&self, hall_id: &str) -> bool {
        let Some(der) = &self.0 else {
            return false;
        };
        let Ok(name) = rustls::pki_types::ServerName::try_from(hall_id) else {
            return false;
        };
        rustls::server::ParsedCertificate::try_from(der)
            .is_ok_and(|parsed| rustls::client::verify_server_name(&parsed, &name).is_ok())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for ClientCertificate {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> ClientCertificate {
        let (_, connection) = stream.io().get_ref();
        ClientCertificate(
            connection
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|c| c.clone().into_owned()),
        )
    }
}

/// Plain HTTP (tests on loopback): no certificate.
impl Connected<IncomingStream<'_, TcpListener>> for ClientCertificate {
    fn connect_info(_: IncomingStream<'_, TcpListener>) -> ClientCertificate {
        ClientCertificate(None)
    }
}

/// A connection whose handshake is done, for the server to serve.
type Handshaken = (tokio_rustls::server::TlsStream<TcpStream>, SocketAddr);

/// A listener that completes each connection's TLS handshake before handing it to the server.
///
/// Each handshake runs in a task of its own, within [`HANDSHAKE_TIME`]: a client that connects and
/// sends nothing, or crawls through its handshake, holds up no other hall's upload.
pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<Handshaken>,
    accepting: JoinHandle<()>,
}

impl TlsListener {
    /// With `client_roots`, only clients whose certificate chains to one of them get through.
    /// Must be called inside a tokio runtime.
    pub fn new(
        tcp: TcpListener,
        identity: &TlsIdentity,
        client_roots: Option<&[u8]>,
    ) -> Result<TlsListener, TlsError> {
        let acceptor = TlsAcceptor::from(Arc::new(identity.server_config(client_roots)?));
        let local_addr = tcp
            .local_addr()
            .map_err(|e| TlsError(format!("the listening socket: {e}")))?;
        let (done, ready) = mpsc::channel(MAX_HANDSHAKES);
        Ok(TlsListener {
            local_addr,
            ready,
            accepting: tokio::spawn(accept_and_shake_hands(tcp, acceptor, done)),
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Accepts connections and starts each one's handshake in its own task; the finished ones go to
/// `done`. Runs until the listener is dropped.
async fn accept_and_shake_hands(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    done: mpsc::Sender<Handshaken>,
) {
    let room = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = Arc::clone(&room).acquire_owned().await else {
            return;
        };
        let (stream, addr) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("platform receiver: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIME, acceptor.accept(stream)).await;
            drop(permit);
            match handshake {
                Ok(Ok(tls)) => {
                    let _ = done.send((tls, addr)).await;
                }
                Ok(Err(e)) => tracing::warn!("platform receiver: TLS handshake with {addr}: {e}"),
                Err(_) => tracing::warn!("platform receiver: TLS handshake with {addr} too slow"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(handshaken) => handshaken,
            // The accepting task ended: no connection comes any more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}
