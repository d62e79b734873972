//! Reading a server's Prometheus endpoint in tests.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// `GET /metrics` over plain HTTP/1.1: the whole response, which must be a 200.
pub async fn scrape(addr: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connecting to the metrics endpoint {addr}: {e}"));
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("asking {addr} for its metrics: {e}"));
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .await
        .unwrap_or_else(|e| panic!("reading the metrics of {addr}: {e}"));
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

/// The value of the first sample of `metric` whose line contains every fragment (0 when
/// there is none).
pub fn sample(text: &str, metric: &str, fragments: &[&str]) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(metric))
        .find(|line| fragments.iter().all(|f| line.contains(f)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
