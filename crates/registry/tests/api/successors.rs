//! A partnership that continues another is listed among that one's successors, on Get,
//! List and Update, and leaves the list when it is deleted or names another predecessor.

use autointel_proto::registry as wire;

use crate::fixtures::{create_org, create_source, supply_partnership};
use crate::harness::{Db, spawn_app};

async fn create(c: &mut crate::fixtures::Client, id: &str, predecessor: &str) -> wire::Partnership {
    let mut p = supply_partnership(
        "organizations/zenith",
        wire::PartnershipStatus::Active,
        "sources/s1",
    );
    p.predecessor = predecessor.to_owned();
    c.create_partnership(wire::CreatePartnershipRequest {
        partnership: Some(p),
        partnership_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn successors_on_get(c: &mut crate::fixtures::Client, id: &str) -> Vec<String> {
    c.get_partnership(wire::GetPartnershipRequest {
        name: format!("partnerships/{id}"),
    })
    .await
    .unwrap()
    .into_inner()
    .successors
}

async fn successors_on_list(c: &mut crate::fixtures::Client) -> Vec<(String, Vec<String>)> {
    c.list_partnerships(wire::ListPartnershipsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .partnerships
        .into_iter()
        .map(|p| (p.name, p.successors))
        .collect()
}

async fn successors_are_visible_from_the_predecessor(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_org(&mut c, "zenith", "Zenith").await;
    create_source(&mut c, "s1").await;
    let a = create(&mut c, "a", "").await;
    assert!(a.successors.is_empty());
    let b = create(&mut c, "b", "partnerships/a").await;
    assert!(b.successors.is_empty(), "a new partnership has none");
    create(&mut c, "c", "partnerships/a").await;
    create(&mut c, "d", "partnerships/b").await;

    assert_eq!(
        successors_on_get(&mut c, "a").await,
        ["partnerships/b", "partnerships/c"]
    );
    assert_eq!(successors_on_get(&mut c, "b").await, ["partnerships/d"]);
    let mut listed = successors_on_list(&mut c).await;
    listed.sort();
    assert_eq!(
        listed,
        [
            (
                "partnerships/a".to_owned(),
                vec!["partnerships/b".to_owned(), "partnerships/c".to_owned()]
            ),
            (
                "partnerships/b".to_owned(),
                vec!["partnerships/d".to_owned()]
            ),
            ("partnerships/c".to_owned(), vec![]),
            ("partnerships/d".to_owned(), vec![]),
        ]
    );

    // an update answers with the successors too, and an output-only field sent is ignored
    let updated = c
        .update_partnership(wire::UpdatePartnershipRequest {
            partnership: Some(wire::Partnership {
                name: "partnerships/a".to_owned(),
                title: "Supply, renewed".to_owned(),
                successors: vec!["partnerships/ghost".to_owned()],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".to_owned()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.successors, ["partnerships/b", "partnerships/c"]);

    // c names another predecessor: it leaves a's successors
    c.update_partnership(wire::UpdatePartnershipRequest {
        partnership: Some(wire::Partnership {
            name: "partnerships/c".to_owned(),
            predecessor: "partnerships/d".to_owned(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["predecessor".to_owned()],
        }),
    })
    .await
    .unwrap();
    assert_eq!(successors_on_get(&mut c, "a").await, ["partnerships/b"]);
    assert_eq!(successors_on_get(&mut c, "d").await, ["partnerships/c"]);

    // deleting a successor takes it off its predecessor's list
    c.delete_partnership(wire::DeletePartnershipRequest {
        name: "partnerships/c".to_owned(),
        etag: String::new(),
    })
    .await
    .unwrap();
    assert!(successors_on_get(&mut c, "d").await.is_empty());
    assert_eq!(successors_on_get(&mut c, "a").await, ["partnerships/b"]);
}

/// However many partnerships continue one, its list stays bounded.
async fn successors_are_capped(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create_org(&mut c, "acme", "Acme").await;
    create_org(&mut c, "zenith", "Zenith").await;
    create_source(&mut c, "s1").await;
    create(&mut c, "a", "").await;
    let over = autointel_registry::store::MAX_SUCCESSORS + 2;
    for i in 0..over {
        create(&mut c, &format!("s{i:02}"), "partnerships/a").await;
    }
    let listed = successors_on_get(&mut c, "a").await;
    let expected: Vec<String> = (0..autointel_registry::store::MAX_SUCCESSORS)
        .map(|i| format!("partnerships/s{i:02}"))
        .collect();
    assert_eq!(listed, expected, "the first by name");
}

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    successors_are_visible_from_the_predecessor,
    successors_are_capped,
);
