//! Reflection lists exactly the services a port serves: a client that discovers methods
//! through it never sees one that would answer UNIMPLEMENTED.

use std::collections::BTreeSet;

use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::harness::{Backend, Stack, channel};

async fn listed_services(url: &str) -> BTreeSet<String> {
    let mut client = ServerReflectionClient::new(channel(url).await.expect("channel"));
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("reflection answer")
        .expect("one answer");
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("not a service list: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_only_what_each_port_serves() {
    let stack = Stack::start(&Backend::Sqlite, false).await;
    let common = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];
    for (url, own) in [
        (
            stack.registry.url(),
            &["autointel.registry.v1.RegistryService"][..],
        ),
        (
            stack.stats.url(),
            &[
                "autointel.stats.v1.StatsService",
                "arrow.flight.protocol.FlightService",
            ][..],
        ),
    ] {
        let expected: BTreeSet<String> = common
            .iter()
            .copied()
            .chain(own.iter().copied())
            .map(str::to_owned)
            .collect();
        assert_eq!(listed_services(&url).await, expected, "{url}");
    }
}
