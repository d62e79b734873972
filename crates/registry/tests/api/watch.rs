//! WatchEvents: resuming from a cursor after a reconnect.

use autointel_proto::registry as wire;
use tonic::Code;

use crate::fixtures::{create_event, create_org, create_source, event, fields, month, next};
use crate::harness::{Db, spawn_app};

async fn watch_resumes_after_reconnect_without_missing_or_repeating(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_source(&mut c, "s1").await;
    let cursor = c
        .list_events(wire::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .watch_cursor;
    let mut stream = c
        .watch_events(wire::WatchEventsRequest {
            cursor: cursor.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let ev = |t: &str| {
        event(
            t,
            "organizations/acme",
            month(2023, 1),
            wire::EventStatus::Reported,
        )
    };
    create_event(&mut c, "a", ev("a")).await;
    create_event(&mut c, "b", ev("b")).await;
    let first = next(&mut stream).await;
    let second = next(&mut stream).await;
    assert_eq!(first.event.as_ref().unwrap().name, "events/a");
    assert_eq!(first.change_type, wire::EventChangeType::Created as i32);
    assert_eq!(second.event.as_ref().unwrap().name, "events/b");
    drop(stream);

    // While disconnected: a new event and a change to an existing one.
    create_event(&mut c, "c", ev("c")).await;
    let b = c
        .get_event(wire::GetEventRequest {
            name: "events/b".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    c.update_event(wire::UpdateEventRequest {
        event: Some(wire::Event {
            title: "b, confirmed".to_owned(),
            status: wire::EventStatus::Confirmed as i32,
            ..b
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["title".to_owned(), "status".to_owned()],
        }),
    })
    .await
    .unwrap();

    let mut stream = c
        .watch_events(wire::WatchEventsRequest {
            cursor: second.cursor.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let third = next(&mut stream).await;
    let fourth = next(&mut stream).await;
    assert_eq!(third.event.as_ref().unwrap().name, "events/c");
    assert_eq!(fourth.event.as_ref().unwrap().name, "events/b");
    assert_eq!(fourth.change_type, wire::EventChangeType::Updated as i32);
    assert_eq!(fourth.event.as_ref().unwrap().title, "b, confirmed");
    create_event(&mut c, "d", ev("d")).await;
    let fifth = next(&mut stream).await;
    assert_eq!(fifth.event.as_ref().unwrap().name, "events/d");

    // From the original listing cursor everything is replayed once, in order.
    let mut replay = c
        .watch_events(wire::WatchEventsRequest { cursor })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let m = next(&mut replay).await;
        seen.push((m.event.unwrap().name, m.change_type));
    }
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["events/a", "events/b", "events/c", "events/b", "events/d"]
    );

    let err = c
        .watch_events(wire::WatchEventsRequest {
            cursor: "garbage".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), fields(&err)),
        (Code::InvalidArgument, vec!["cursor".to_owned()])
    );
}

autointel_testkit::on_each_backend!(
    crate::harness::database =>watch_resumes_after_reconnect_without_missing_or_repeating,);
