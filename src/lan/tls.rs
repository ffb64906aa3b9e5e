//! TLS on the hall LAN without a certificate authority: the hall node makes its own key and
//! self-signed certificate on first start, and a terminal pins that certificate's SHA-256
//! fingerprint. The pairing code carries the first 80 bits of the fingerprint, so a terminal trusts
//! the right hall node from its very first connection (no trust on first use), and keeps the whole
//! fingerprint once paired. A certificate that does not match is refused before a byte of a request
//! is sent.
//!
//! Dates in the certificate are not checked: a board without a real-time clock may boot years off,
//! and the pin, not the validity period, says which certificate is the hall node's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::identity::{create_private_file, replace_private_file};

/// The letters of pairing codes (no I, L, O, 0 or 1 to misread): the fingerprint part uses them too.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Bits of the fingerprint a pairing code carries: finding another certificate whose fingerprint
/// begins with the same 80 bits takes about 2^80 hashes, far beyond anyone on a hall's LAN.
const PAIRING_BITS: u32 = 80;
/// Letters that hold those bits: 31^17 > 2^80.
const PAIRING_LETTERS: usize = 17;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read or write {path}: {why}")]
    File { path: PathBuf, why: String },
    #[error("{path} holds no usable {what}: {why}; remove both certificate files to make new ones")]
    Unusable {
        path: PathBuf,
        what: &'static str,
        why: String,
    },
    #[error("cannot make the hall node's certificate: {0}")]
    Generate(String),
    #[error("the TLS setup is refused: {0}")]
    Config(String),
    #[error("\"{0}\" is not the certificate part of a pairing code: {1}")]
    BadPairingPart(String, &'static str),
    #[error("\"{0}\" is not a certificate fingerprint (64 hex digits)")]
    BadFingerprint(String),
}

/// The SHA-256 of a certificate's DER bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn of(cert: &CertificateDer<'_>) -> Fingerprint {
        Fingerprint(Sha256::digest(cert.as_ref()).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Result<Fingerprint, TlsError> {
        let bad = || TlsError::BadFingerprint(text.to_string());
        let bytes = hex::decode(text.trim()).map_err(|_| bad())?;
        Ok(Fingerprint(bytes.try_into().map_err(|_| bad())?))
    }

    /// The first 80 bits as a number.
    fn pairing_bits(&self) -> u128 {
        let mut head = [0u8; 16];
        head[6..].copy_from_slice(&self.0[..(PAIRING_BITS / 8) as usize]);
        u128::from_be_bytes(head)
    }

    /// The part a pairing code carries, e.g. `Q7KM-4XTR-9BNA-HC2W-P`.
    pub fn pairing_part(&self) -> String {
        let mut n = self.pairing_bits();
        let mut letters = [0u8; PAIRING_LETTERS];
        for slot in letters.iter_mut().rev() {
            *slot = ALPHABET[(n % ALPHABET.len() as u128) as usize];
            n /= ALPHABET.len() as u128;
        }
        letters
            .chunks(4)
            .map(|group| std::str::from_utf8(group).expect("ASCII letters"))
            .collect::<Vec<_>>()
            .join("-")
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

/// Which certificate a terminal accepts as the hall node's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificatePin {
    /// The first 80 bits, from a pairing code: used for the pairing request itself.
    PairingPart(u128),
    /// The whole fingerprint, kept by a paired terminal.
    Full(Fingerprint),
}

impl CertificatePin {
    /// Reads the certificate part of a pairing code; dashes, spaces and case do not matter.
    pub fn from_pairing_part(text: &str) -> Result<CertificatePin, TlsError> {
        let bad = |why| TlsError::BadPairingPart(text.to_string(), why);
        let letters: Vec<u8> = text
            .bytes()
            .filter(|b| !matches!(b, b'-' | b' '))
            .map(|b| b.to_ascii_uppercase())
            .collect();
        if letters.len() != PAIRING_LETTERS {
            return Err(bad("it has 17 letters and digits"));
        }
        let mut n: u128 = 0;
        for letter in letters {
            let digit = ALPHABET
                .iter()
                .position(|&a| a == letter)
                .ok_or_else(|| bad("it uses only letters and digits 2 to 9, without I, L or O"))?;
            n = n * ALPHABET.len() as u128 + digit as u128;
        }
        if n >> PAIRING_BITS != 0 {
            return Err(bad("it is not one a hall node makes"));
        }
        Ok(CertificatePin::PairingPart(n))
    }

    pub fn matches(&self, cert: &CertificateDer<'_>) -> bool {
        let fingerprint = Fingerprint::of(cert);
        match self {
            CertificatePin::PairingPart(bits) => fingerprint.pairing_bits() == *bits,
            CertificatePin::Full(pinned) => fingerprint == *pinned,
        }
    }
}

/// A pairing code as staff copy it from the hall node: the one-time secret (10 letters, sent to the
/// hall node) and, when the hall LAN runs TLS, the certificate part (17 letters, kept on the terminal
/// to check the hall node by). Dashes, spaces and case do not matter.
pub fn split_pairing_code(code: &str) -> Result<(String, Option<CertificatePin>), TlsError> {
    let letters: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    match letters.len() {
        SECRET_LETTERS => Ok((letters, None)),
        n if n == SECRET_LETTERS + PAIRING_LETTERS => {
            let (secret, part) = letters.split_at(SECRET_LETTERS);
            Ok((
                secret.to_string(),
                Some(CertificatePin::from_pairing_part(part)?),
            ))
        }
        _ => Err(TlsError::BadPairingPart(
            code.to_string(),
            "a pairing code has 10 letters and digits, or 27 with the hall node's certificate part",
        )),
    }
}

/// Letters of a pairing code's one-time secret.
const SECRET_LETTERS: usize = 10;

/// Makes ring the process's TLS provider. An HTTP client builds a TLS setup of its own even for
/// `http://` addresses, and without a provider installed it cannot: every place that builds one calls
/// this first (harmless when one is installed already).
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client's builder as the hall LAN needs it: over TLS it trusts the pinned certificate alone;
/// without a pin it speaks plain HTTP and trusts no certificate authority, so it loads none (reqwest's
/// default setup parses every root certificate of the system each time a client is built).
pub fn lan_http_builder(pin: Option<CertificatePin>) -> Result<reqwest::ClientBuilder, TlsError> {
    install_default_provider();
    let builder = reqwest::Client::builder();
    Ok(match pin {
        Some(pin) => builder.use_preconfigured_tls(client_config(pin)?),
        None => builder.tls_certs_only(std::iter::empty()),
    })
}

/// Where a paired terminal keeps the hall node's certificate fingerprint: beside its device token.
pub fn pin_path_beside(token_file: &Path) -> PathBuf {
    token_file.with_file_name("hall-cert.sha256")
}

/// Keeps the hall node's fingerprint a terminal saw when it paired (written aside and renamed).
pub fn store_pin(path: &Path, fingerprint: &Fingerprint) -> Result<(), TlsError> {
    let text = format!("{}\n", fingerprint.to_hex());
    replace_private_file(path, text.as_bytes()).map_err(|e| TlsError::File {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// The fingerprint a paired terminal kept.
pub fn load_pin(path: &Path) -> Result<Fingerprint, TlsError> {
    let text = std::fs::read_to_string(path).map_err(|e| TlsError::File {
        path: path.to_path_buf(),
        why: format!("{e}; pair this board again with `hallq pair join`"),
    })?;
    Fingerprint::from_hex(&text)
}

/// The hall node's certificate for `[lan]`: the configured files, or `hall-cert.pem` and
/// `hall-key.pem` beside the database, made on first use.
pub fn hall_certificate(
    lan: &crate::config::LanConfig,
    db_path: &Path,
) -> Result<HallCertificate, TlsError> {
    let beside = |name: &str| db_path.with_file_name(name);
    let cert = lan
        .tls_cert_file
        .as_ref()
        .map_or_else(|| beside("hall-cert.pem"), PathBuf::from);
    let key = lan
        .tls_key_file
        .as_ref()
        .map_or_else(|| beside("hall-key.pem"), PathBuf::from);
    HallCertificate::load_or_create(&cert, &key, &["hallq-hall-node".to_string()])
}

/// A pairing code as staff are shown it: the one-time secret, then the certificate part when the
/// hall LAN runs TLS.
pub fn with_certificate_part(code: String, certificate: Option<&Fingerprint>) -> String {
    match certificate {
        Some(fingerprint) => format!("{code}-{}", fingerprint.pairing_part()),
        None => code,
    }
}

/// The hall node's certificate and key.
pub struct HallCertificate {
    pub cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

impl HallCertificate {
    /// Reads the certificate and key at these paths, or makes both (key readable by hallq alone)
    /// when neither exists yet. `names` go into the certificate's subject alternative names; the
    /// pin, not the names, is what terminals check.
    pub fn load_or_create(
        cert_path: &Path,
        key_path: &Path,
        names: &[String],
    ) -> Result<HallCertificate, TlsError> {
        if !cert_path.exists() && !key_path.exists() {
            let made = rcgen::generate_simple_self_signed(names.to_vec())
                .map_err(|e| TlsError::Generate(e.to_string()))?;
            write_private(key_path, made.signing_key.serialize_pem().as_bytes())?;
            write_private(cert_path, made.cert.pem().as_bytes())?;
        }
        let cert = CertificateDer::from_pem_file(cert_path).map_err(|e| TlsError::Unusable {
            path: cert_path.to_path_buf(),
            what: "certificate",
            why: e.to_string(),
        })?;
        let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| TlsError::Unusable {
            path: key_path.to_path_buf(),
            what: "private key",
            why: e.to_string(),
        })?;
        Ok(HallCertificate { cert, key })
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.cert)
    }

    /// The server side: this certificate, TLS 1.2 and 1.3, HTTP/1.1.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The client side: trusts exactly the certificate `pin` names.
pub fn client_config(pin: CertificatePin) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(PinnedCertificate {
        pin,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts the one pinned certificate, and checks that the hall node holds its key: the handshake's
/// signatures are verified as usual, only the chain to a CA is replaced by the pin.
#[derive(Debug)]
struct PinnedCertificate {
    pin: CertificatePin,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pin.matches(end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
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

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    create_private_file(path, bytes).map_err(|e| TlsError::File {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    use super::*;

    fn hall_certificate(dir: &Path) -> HallCertificate {
        HallCertificate::load_or_create(
            &dir.join("hall-cert.pem"),
            &dir.join("hall-key.pem"),
            &["hallq-hall".to_string()],
        )
        .unwrap()
    }

    /// Serves one TLS connection that echoes a line, and tries it with `pin`.
    async fn talk(cert: &HallCertificate, pin: CertificatePin) -> Result<String, std::io::Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = TlsAcceptor::from(cert.server_config().unwrap());
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            if let Ok(mut tls) = acceptor.accept(socket).await {
                let mut line = [0u8; 5];
                if tls.read_exact(&mut line).await.is_ok() {
                    let _ = tls.write_all(&line).await;
                    let _ = tls.shutdown().await;
                }
            }
        });
        let connector = TlsConnector::from(Arc::new(client_config(pin).unwrap()));
        let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("hallq-hall").unwrap();
        let answer = async {
            let mut tls = connector.connect(name, socket).await?;
            tls.write_all(b"hello").await?;
            let mut back = String::new();
            tls.read_to_string(&mut back).await?;
            Ok(back)
        }
        .await;
        server.abort();
        answer
    }

    #[tokio::test]
    async fn a_terminal_talks_to_the_pinned_hall_node_only() {
        let dir = tempfile::tempdir().unwrap();
        let cert = hall_certificate(dir.path());
        let other_dir = dir.path().join("other");
        std::fs::create_dir(&other_dir).unwrap();
        let other = hall_certificate(&other_dir);
        let full = CertificatePin::Full(cert.fingerprint());
        assert_eq!(talk(&cert, full).await.unwrap(), "hello");
        let part = CertificatePin::from_pairing_part(&cert.fingerprint().pairing_part()).unwrap();
        assert_eq!(talk(&cert, part).await.unwrap(), "hello");
        // Another hall node, or a stranger in the middle with a certificate of its own.
        let wrong = CertificatePin::Full(other.fingerprint());
        let refused = talk(&cert, wrong).await.unwrap_err();
        assert!(refused.to_string().contains("certificate"), "{refused}");
        let wrong_part =
            CertificatePin::from_pairing_part(&other.fingerprint().pairing_part()).unwrap();
        assert!(talk(&cert, wrong_part).await.is_err());
    }

    #[test]
    fn the_certificate_is_made_once_with_a_private_key_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = hall_certificate(dir.path()).fingerprint();
        let mode = std::fs::metadata(dir.path().join("hall-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            hall_certificate(dir.path()).fingerprint(),
            first,
            "kept across starts"
        );
    }

    #[test]
    fn a_damaged_certificate_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        hall_certificate(dir.path());
        std::fs::write(dir.path().join("hall-cert.pem"), "not a certificate").unwrap();
        let err = HallCertificate::load_or_create(
            &dir.path().join("hall-cert.pem"),
            &dir.path().join("hall-key.pem"),
            &[],
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("no usable certificate"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("hall-cert.pem")).unwrap(),
            "not a certificate"
        );
    }

    #[test]
    fn a_pairing_code_splits_into_its_secret_and_its_certificate_part() {
        let dir = tempfile::tempdir().unwrap();
        let fingerprint = hall_certificate(dir.path()).fingerprint();
        let code = format!("KX4M-9QTR-B2-{}", fingerprint.pairing_part());
        let (secret, pin) = split_pairing_code(&code).unwrap();
        assert_eq!(secret, "KX4M9QTRB2");
        assert_eq!(
            pin,
            Some(CertificatePin::PairingPart(fingerprint.pairing_bits()))
        );
        assert_eq!(
            split_pairing_code("kx4m 9qtr b2").unwrap(),
            ("KX4M9QTRB2".into(), None)
        );
        for bad in [
            "KX4M-9QTR",
            "KX4M-9QTR-B2-Q7KM",
            "KX4M-9QTR-B2-0000-0000-0000-0000-0",
        ] {
            assert!(split_pairing_code(bad).is_err(), "{bad}");
        }
        let path = pin_path_beside(&dir.path().join("device-token"));
        store_pin(&path, &fingerprint).unwrap();
        assert_eq!(load_pin(&path).unwrap(), fingerprint);
        let missing = load_pin(&dir.path().join("none")).unwrap_err();
        assert!(missing.to_string().contains("hallq pair join"), "{missing}");
    }

    #[test]
    fn the_pairing_part_reads_back_in_any_case_and_refuses_what_no_hall_makes() {
        let dir = tempfile::tempdir().unwrap();
        let fingerprint = hall_certificate(dir.path()).fingerprint();
        let part = fingerprint.pairing_part();
        assert_eq!(part.len(), 17 + 4, "17 letters in groups of four: {part}");
        let pin = CertificatePin::from_pairing_part(&part.to_lowercase().replace('-', " "));
        assert_eq!(
            pin.unwrap(),
            CertificatePin::PairingPart(fingerprint.pairing_bits())
        );
        for bad in [
            "",
            "ABCD",
            "Q7KM-4XTR-9BNA-HC2W-PP",
            "Q7KM-4XTR-9BNA-HC2W-0",
            "99999999999999999",
        ] {
            assert!(CertificatePin::from_pairing_part(bad).is_err(), "{bad}");
        }
        let hex = fingerprint.to_hex();
        assert_eq!(Fingerprint::from_hex(&hex).unwrap(), fingerprint);
        assert!(Fingerprint::from_hex(&hex[..62]).is_err());
        assert!(Fingerprint::from_hex("zz").is_err());
    }
}
