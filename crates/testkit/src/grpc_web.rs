//! A gRPC-Web call over plain HTTP/1.1, as a browser makes it, for tests of the servers'
//! gRPC-Web and CORS.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What came back: the status line and headers (lower-cased names), and the body bytes.
#[derive(Debug)]
pub struct HttpResponse {
    /// e.g. `HTTP/1.1 200 OK`.
    pub status_line: String,
    /// `name: value` lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (for gRPC-Web: data frames, then the trailers frame).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `grpc-status` of the answer: from the headers (trailers-only) or the trailers
    /// frame at the end of the body.
    pub fn grpc_status(&self) -> Option<String> {
        if let Some(s) = self.header("grpc-status") {
            return Some(s.to_owned());
        }
        let text = String::from_utf8_lossy(&self.body);
        let at = text.find("grpc-status:")?;
        Some(
            text[at + "grpc-status:".len()..]
                .split(['\r', '\n'])
                .next()?
                .trim()
                .to_owned(),
        )
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the whole answer; `Err` when
/// the server does not speak HTTP/1.1 there (gRPC-Web off).
pub async fn http1(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP/1.1 answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    if !status_line.starts_with("HTTP/1.1") {
        return Err(std::io::Error::other(format!(
            "not HTTP/1.1: {status_line}"
        )));
    }
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok(HttpResponse {
        status_line,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&raw[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        let stop = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..stop]);
        raw = &raw[(stop + 2).min(raw.len())..];
    }
    out
}

/// A gRPC-Web request body: one uncompressed message frame holding `message`.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8];
    body.extend_from_slice(
        &u32::try_from(message.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    body.extend_from_slice(message);
    body
}
