//! Chinese names: traditional and simplified spellings share one match key, also for
//! names stored by a binary whose key did not fold them.

use autointel_proto::registry as wire;
use tonic::Code;

use crate::fixtures::{fields, lookup};
use crate::harness::{Db, spawn_app, spawn_app_with};

fn chinese_org(english: &str, chinese: &str, aliases: &[&str]) -> wire::Organization {
    wire::Organization {
        kind: wire::OrganizationKind::Automaker as i32,
        english_name: english.to_owned(),
        chinese_name: chinese.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        ..Default::default()
    }
}

async fn create(c: &mut crate::fixtures::Client, id: &str, org: wire::Organization) {
    c.create_organization(wire::CreateOrganizationRequest {
        organization: Some(org),
        organization_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap();
}

async fn found(c: &mut crate::fixtures::Client, query: &str) -> Vec<String> {
    lookup(c, query).await.into_iter().map(|o| o.name).collect()
}

/// A name in simplified Chinese is found by its traditional spelling and the other way
/// round, through the Chinese name and through an alias, mixed with Latin and full-width
/// letters; two aliases that differ only in script are one alias.
async fn traditional_and_simplified_spellings_find_one_organisation(db: &Db) {
    let app = spawn_app(db).await;
    let mut c = app.client.clone();
    create(
        &mut c,
        "nissan-china",
        chinese_org("Nissan China", "日产中国", &["東風日產", "NCIC 日產"]),
    )
    .await;
    create(
        &mut c,
        "gac-toyota",
        chinese_org("GAC Toyota", "廣汽豐田", &[]),
    )
    .await;
    for query in [
        "日产中国",
        "日產中國",
        " 日產中国 ",
        "东风日产",
        "東風日產",
        "ncic 日产",
        "ＮＣＩＣ   日產",
    ] {
        assert_eq!(
            found(&mut c, query).await,
            ["organizations/nissan-china"],
            "{query:?}"
        );
    }
    for query in ["广汽丰田", "廣汽豐田", "gac toyota"] {
        assert_eq!(
            found(&mut c, query).await,
            ["organizations/gac-toyota"],
            "{query:?}"
        );
    }
    assert!(found(&mut c, "日产").await.is_empty(), "whole names only");

    let err = c
        .create_organization(wire::CreateOrganizationRequest {
            organization: Some(chinese_org("Dongfeng", "东风", &["東風汽車", "东风汽车"])),
            organization_id: "dongfeng".to_owned(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), fields(&err)),
        (
            Code::InvalidArgument,
            vec!["organization.aliases[1]".to_owned()]
        ),
        "one alias in two scripts"
    );
    let err = c
        .update_organization(wire::UpdateOrganizationRequest {
            organization: Some(wire::Organization {
                name: "organizations/gac-toyota".to_owned(),
                aliases: vec!["广汽丰田汽车".to_owned(), "廣汽豐田汽車".to_owned()],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["aliases".to_owned()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["organization.aliases[1]"]);
}

autointel_testkit::on_each_backend!(
    crate::harness::database =>
    traditional_and_simplified_spellings_find_one_organisation,
    keys_of_an_older_binary_are_found_then_recomputed,
);

/// Rows keyed by the version-2 key (no Chinese folding), as an older binary writes them,
/// are found by their own spelling meanwhile; after a restart the keys are recomputed and
/// the other spelling finds them too. An organisation whose two aliases the new key makes
/// one stays readable.
async fn keys_of_an_older_binary_are_found_then_recomputed(db: &Db) {
    // the store and the restarted server share the database: a file on SQLite
    let dir = tempfile::tempdir().unwrap();
    let url = if db.is_postgres() {
        db.url().to_owned()
    } else {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("registry.db").display()
        )
    };
    let store = autointel_registry::store::Store::connect(&url)
        .await
        .unwrap();
    let org = autointel_domain::Organization {
        id: autointel_domain::OrganizationId::parse("dfn").unwrap(),
        kind: autointel_domain::OrganizationKind::JointVenture,
        english_name: "Dongfeng Nissan".to_owned(),
        chinese_name: Some("東風日產".to_owned()),
        // stored before the key folded scripts: two aliases then, one now
        aliases: vec!["日產".to_owned(), "日产".to_owned()],
        country_code: None,
    };
    store.create(org, None).await.unwrap();
    // what a version-2 binary wrote: its keys, without Chinese folding
    sqlx::query("DELETE FROM organization_names WHERE organization_id = 'dfn'")
        .execute(store.pool())
        .await
        .unwrap();
    for key in ["dongfeng nissan", "東風日產", "日產", "日产"] {
        sqlx::query(
            "INSERT INTO organization_names (organization_id, name_folded) VALUES ('dfn', $1)",
        )
        .bind(key)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let keys = |q: &str| {
        let mut keys = autointel_domain::text::legacy_match_keys(q);
        keys.push(autointel_domain::match_key(q));
        keys
    };
    assert_eq!(
        store
            .lookup_organizations(&keys("東風日產"))
            .await
            .unwrap()
            .len(),
        1,
        "found by its own spelling through the version-2 key"
    );
    assert!(
        store
            .lookup_organizations(&keys("东风日产"))
            .await
            .unwrap()
            .is_empty(),
        "the other spelling waits for the recomputation"
    );
    drop(store);

    // a restart recomputes the keys (Application::build → refresh_match_keys)
    let app = spawn_app_with(&url, false).await;
    let mut c = app.client.clone();
    for query in ["东风日产", "東風日產", "日产", "日產", "dongfeng nissan"] {
        assert_eq!(
            found(&mut c, query).await,
            ["organizations/dfn"],
            "{query:?}"
        );
    }
    let got = c
        .get_organization(wire::GetOrganizationRequest {
            name: "organizations/dfn".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.aliases, ["日產", "日产"], "readable as stored");

    let store = autointel_registry::store::Store::connect(&url)
        .await
        .unwrap();
    let report = store.refresh_match_keys().await.unwrap();
    assert_eq!(report.recomputed, 0, "already recomputed at start-up");
    assert_eq!(report.duplicate_aliases, ["dfn"]);
}
