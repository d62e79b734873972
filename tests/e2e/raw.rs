//! Calling any method of the services by path with an already encoded request: a bytes
//! codec over `tonic::client::Grpc`, and the methods as the descriptor set declares them
//! (so a newly added RPC is covered by the tests that enumerate them).

use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes};
use prost::Message as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Passes message bytes through unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        Self
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// One RPC as declared in the descriptor set.
#[derive(Clone, Debug)]
pub struct Method {
    /// `autointel.registry.v1.RegistryService`.
    pub service: String,
    /// `CreateOrganization`.
    pub name: String,
    /// The client sends a stream.
    pub client_streaming: bool,
    /// The server answers with a stream.
    pub server_streaming: bool,
}

impl Method {
    /// `/autointel.registry.v1.RegistryService/CreateOrganization`.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.service, self.name)
    }
}

/// Every method of every `autointel.*` service, and of Arrow Flight's (which stats serves),
/// in `autointel_proto::FILE_DESCRIPTOR_SET`.
pub fn methods() -> Vec<Method> {
    let set = prost_types::FileDescriptorSet::decode(autointel_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set decodes");
    let mut methods = Vec::new();
    for file in &set.file {
        if !file.package().starts_with("autointel.") && file.package() != "arrow.flight.protocol" {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                methods.push(Method {
                    service: format!("{}.{}", file.package(), service.name()),
                    name: method.name().to_owned(),
                    client_streaming: method.client_streaming(),
                    server_streaming: method.server_streaming(),
                });
            }
        }
    }
    methods
}

/// The method called `name` (bare name), from [`methods`].
pub fn method(name: &str) -> Method {
    methods()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no method {name} in the descriptor set"))
}

/// Calls `method` with `body` (one encoded request message; for a client stream, the
/// stream's only message) and `token`; `Ok` when the call (or, for a server stream, its
/// start) succeeded. A server stream is dropped after its headers.
pub async fn call(
    channel: &Channel,
    method: &Method,
    body: Vec<u8>,
    token: Option<&str>,
) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("channel not ready: {e}")))?;
    let path: PathAndQuery = method.path().parse().expect("a valid path");
    let mut request = tonic::Request::new(Bytes::from(body));
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("ASCII token"),
        );
    }
    request.set_timeout(Duration::from_secs(20));
    let call = async {
        match (method.client_streaming, method.server_streaming) {
            (false, false) => grpc.unary(request, path, RawCodec).await.map(|_| ()),
            (true, false) => grpc
                .client_streaming(request.map(|b| tokio_stream::iter([b])), path, RawCodec)
                .await
                .map(|_| ()),
            (false, true) => grpc
                .server_streaming(request, path, RawCodec)
                .await
                .map(|_| ()),
            (true, true) => grpc
                .streaming(request.map(|b| tokio_stream::iter([b])), path, RawCodec)
                .await
                .map(|_| ()),
        }
    };
    tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .unwrap_or_else(|_| Err(Status::new(Code::DeadlineExceeded, "test-side timeout")))
}
