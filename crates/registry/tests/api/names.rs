//! Organisation names: NFC, one match key, refused hidden characters, legacy keys.

use autointel_proto::registry as wire;
use tonic::Code;

use crate::fixtures::{fields, lookup};
use crate::harness::{Db, spawn_app};

/// Names are stored in NFC and found by one match key: composed and decomposed forms,
/// full-width letters, case and inner whitespace make no difference; invisible and
/// direction-override characters are refused on write.
async fn names_are_normalised_and_matched_by_one_key(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    let decomposed = "Citroe\u{0308}n  Motors";
    let created = c
        .create_organization(wire::CreateOrganizationRequest {
            organization: Some(wire::Organization {
                kind: wire::OrganizationKind::Automaker as i32,
                english_name: decomposed.to_owned(),
                aliases: vec!["DPCA".to_owned()],
                ..Default::default()
            }),
            organization_id: "citroen".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        created.english_name, "Citro\u{00EB}n  Motors",
        "stored in NFC"
    );
    for query in [
        "citro\u{00EB}n motors",
        "CITROE\u{0308}N   MOTORS",
        "ＤＰＣＡ",
        " dpca ",
    ] {
        let found = lookup(&mut c, query).await;
        let names: Vec<&str> = found.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["organizations/citroen"], "{query:?}");
    }
    for (name, alias) in [("Nis\u{200B}san", "ok"), ("Nissan", "\u{202E}nassiN")] {
        let err = c
            .create_organization(wire::CreateOrganizationRequest {
                organization: Some(wire::Organization {
                    kind: wire::OrganizationKind::Automaker as i32,
                    english_name: name.to_owned(),
                    aliases: vec![alias.to_owned()],
                    ..Default::default()
                }),
                organization_id: "hidden".to_owned(),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let field = if alias == "ok" {
            "organization.english_name"
        } else {
            "organization.aliases[0]"
        };
        assert_eq!(fields(&err), [field]);
    }
    let err = c
        .create_organization(wire::CreateOrganizationRequest {
            organization: Some(wire::Organization {
                kind: wire::OrganizationKind::Automaker as i32,
                english_name: "Peugeot".to_owned(),
                aliases: vec!["Citro\u{00EB}n".to_owned(), "Citroe\u{0308}n".to_owned()],
                ..Default::default()
            }),
            organization_id: "peugeot".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        ["organization.aliases[1]"],
        "one name in two forms"
    );
}

/// One call tells which of many organisations exist, each once, in request order.
async fn batch_get_tells_found_from_missing_in_one_call(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    crate::fixtures::create_org(&mut c, "acme", "Acme").await;
    crate::fixtures::create_org(&mut c, "zenith", "Zenith").await;
    let answer = c
        .batch_get_organizations(wire::BatchGetOrganizationsRequest {
            names: [
                "organizations/zenith",
                "organizations/ghost",
                "organizations/acme",
                "organizations/zenith",
                "organizations/phantom",
            ]
            .map(str::to_owned)
            .to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    let found: Vec<&str> = answer
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(found, ["organizations/zenith", "organizations/acme"]);
    assert!(
        !answer.organizations[0].etag.is_empty(),
        "full resources, with metadata"
    );
    assert_eq!(
        answer.missing_names,
        ["organizations/ghost", "organizations/phantom"]
    );
    let err = c
        .batch_get_organizations(wire::BatchGetOrganizationsRequest {
            names: (0..=1_000).map(|i| format!("organizations/o{i}")).collect(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), fields(&err)),
        (Code::InvalidArgument, vec!["names".to_owned()])
    );
}

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    names_are_normalised_and_matched_by_one_key,
    batch_get_tells_found_from_missing_in_one_call,
);

/// Keys written by an older binary (trimmed and lower-cased only) are recomputed at
/// start-up, and lookups find them meanwhile.
#[tokio::test]
async fn legacy_match_keys_are_recomputed_and_found_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("registry.db").display()
    );
    let store = autointel_registry::store::Store::connect(&url)
        .await
        .unwrap();
    let org = autointel_domain::Organization {
        id: autointel_domain::OrganizationId::parse("dfn").unwrap(),
        kind: autointel_domain::OrganizationKind::JointVenture,
        english_name: "Dongfeng  Nissan".to_owned(),
        chinese_name: None,
        aliases: Vec::new(),
        country_code: None,
    };
    store.create(org, None).await.unwrap();
    // what an older binary wrote
    sqlx::query("UPDATE organization_names SET name_folded = 'dongfeng  nissan'")
        .execute(store.pool())
        .await
        .unwrap();
    let found = store
        .lookup_organizations(
            &[
                vec![autointel_domain::match_key("Dongfeng  Nissan")],
                autointel_domain::text::legacy_match_keys("Dongfeng  Nissan"),
            ]
            .concat(),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "found by the legacy key meanwhile");
    let report = store.refresh_match_keys().await.unwrap();
    assert_eq!(report.recomputed, 1);
    assert_eq!(
        store.refresh_match_keys().await.unwrap().recomputed,
        0,
        "idempotent"
    );
    let found = store
        .lookup_organizations(&[autointel_domain::match_key("dongfeng nissan")])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}
