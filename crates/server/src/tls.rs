//! TLS the server terminates itself: certificates (and the client CA of mutual TLS) are
//! read again when their files change, so a renewed certificate is served without a
//! restart; each handshake runs in a task of its own with a time limit, and a failed one
//! is logged and counted.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

use crate::settings::TlsSettings;

/// How long a client may take to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS configuration in force, replaced when its files change.
#[derive(Clone, Debug)]
pub struct ReloadableTls {
    settings: TlsSettings,
    config: Arc<RwLock<Arc<ServerConfig>>>,
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A server configuration from the PEM files of `settings` (HTTP/2 only, ring).
fn build(settings: &TlsSettings) -> Result<ServerConfig, String> {
    let (Some(cert_file), Some(key_file)) = (&settings.cert_file, &settings.key_file) else {
        return Err("tls.cert_file and tls.key_file are required".to_owned());
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(cert_file)?)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key_file)?)
        .map_err(|e| format!("{}: {e}", key_file.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match &settings.client_ca_file {
        Some(ca_file) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&read(ca_file)?) {
                let cert = cert.map_err(|e| format!("{}: {e}", ca_file.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", ca_file.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("{}: {e}", ca_file.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("{}: {e}", cert_file.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// The bytes of every file `settings` names, to notice a change.
fn contents(settings: &TlsSettings) -> Vec<Option<Vec<u8>>> {
    [
        &settings.cert_file,
        &settings.key_file,
        &settings.client_ca_file,
    ]
    .into_iter()
    .map(|p| p.as_ref().and_then(|p| std::fs::read(p).ok()))
    .collect()
}

impl ReloadableTls {
    /// Reads the files of `settings`; `Ok(None)` when TLS is not configured.
    pub fn load(settings: &TlsSettings) -> Result<Option<Self>, String> {
        if !settings.enabled() {
            return Ok(None);
        }
        let config = build(settings)?;
        Ok(Some(Self {
            settings: settings.clone(),
            config: Arc::new(RwLock::new(Arc::new(config))),
        }))
    }

    /// The configuration new connections get.
    pub fn current(&self) -> Arc<ServerConfig> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Every `interval`, reads the files again when they changed and puts the new
    /// configuration in force for new connections; files that do not make a valid
    /// configuration (a half-written renewal) keep the one in force, with an error logged.
    pub fn reload_on_change(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut last = contents(&this.settings);
            loop {
                tokio::time::sleep(interval).await;
                let now = contents(&this.settings);
                if now == last {
                    continue;
                }
                last = now;
                match build(&this.settings) {
                    Ok(config) => {
                        let config = Arc::new(config);
                        match this.config.write() {
                            Ok(mut c) => *c = config,
                            Err(poisoned) => *poisoned.into_inner() = config,
                        }
                        tracing::info!("TLS certificates reloaded");
                    }
                    Err(e) => tracing::error!(
                        error = %e,
                        "the TLS files changed but do not make a valid configuration; keeping the one in force"
                    ),
                }
            }
        })
    }
}

/// Accepts connections on `listener` and hands out the ones whose TLS handshake
/// succeeded; `wrap` prepares each accepted stream. Failed handshakes are logged (at
/// warn: a misconfigured client or a scan) and counted in `failures`.
pub fn incoming<IO, W>(
    listener: TcpListener,
    tls: ReloadableTls,
    wrap: W,
    failures: Counter,
) -> (
    ReceiverStream<std::io::Result<TlsStream<IO>>>,
    tokio::task::JoinHandle<()>,
)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    W: Fn(tokio::net::TcpStream) -> IO + Send + 'static,
{
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let acceptor = TlsAcceptor::from(tls.current());
            let tx = tx.clone();
            let failures = failures.clone();
            let io = wrap(stream);
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => {
                        failures.inc();
                        tracing::warn!(peer = %peer.ip(), error = %e, "TLS handshake failed");
                    }
                    Err(_) => {
                        failures.inc();
                        tracing::warn!(
                            peer = %peer.ip(),
                            timeout_seconds = HANDSHAKE_TIMEOUT.as_secs(),
                            "TLS handshake did not finish in time"
                        );
                    }
                }
            });
        }
    });
    (ReceiverStream::new(rx), task)
}
