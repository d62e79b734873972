//! `autointel apply` and `autointel records export` through the real binaries: a dry run
//! writes nothing, apply creates and updates what the file says, a second apply changes
//! nothing, records only the registry has are reported and deleted only with `--prune`, and
//! an export applied to an empty stack creates everything (supersession included) and
//! exports back the same file.

use std::collections::BTreeMap;
use std::path::Path;

use autointel_proto::registry as rwire;
use autointel_proto::registry::event_participant::Participant;
use serde_json::Value;
use tonic::Code;

use crate::flows::SOURCE;
use crate::harness::{Backend, Cli, Stack, on_each_backend};

on_each_backend!(
    apply_creates_updates_and_prunes_only_when_asked,
    export_applied_to_an_empty_stack_round_trips,
);

/// `action -> [record]` of an apply's JSON output.
fn actions(json: &Value) -> BTreeMap<String, Vec<String>> {
    let mut by_action: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in json["records"].as_array().expect("records") {
        by_action
            .entry(r["action"].as_str().expect("action").to_owned())
            .or_default()
            .push(r["name"].as_str().expect("name").to_owned());
    }
    by_action
}

fn apply(cli: &Cli, file: &Path, flags: &[&str]) -> Value {
    let path = file.to_string_lossy();
    let mut args = vec!["apply", "-f", path.as_ref()];
    args.extend_from_slice(flags);
    cli.json(&args)
}

fn export(cli: &Cli, file: &Path) -> String {
    cli.table(&["records", "export", "-f", &file.to_string_lossy()]);
    std::fs::read_to_string(file).expect("the export is written")
}

async fn org_name(stack: &Stack, id: &str) -> Result<String, Code> {
    stack
        .registry_client()
        .await
        .get_organization(rwire::GetOrganizationRequest {
            name: format!("organizations/{id}"),
        })
        .await
        .map(|r| r.into_inner().english_name)
        .map_err(|s| s.code())
}

async fn apply_creates_updates_and_prunes_only_when_asked(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let cli = stack.cli();
    let dir = stack.dir.path();
    let exported = export(&cli, &dir.join("seeded.toml"));

    // What the registry holds, applied: everything unchanged, nothing else.
    let same = apply(&cli, &dir.join("seeded.toml"), &[]);
    let all = actions(&same);
    assert_eq!(all.keys().collect::<Vec<_>>(), ["unchanged"], "{same:#}");
    assert!(all["unchanged"].len() > 20, "{same:#}");

    // A record only the registry has; a file with one more and one changed.
    crate::flows::create_org(&stack, "e2e-stray", rwire::OrganizationKind::Other).await;
    let edited = exported.replace(
        "english_name = \"Tsinghua University\"",
        "english_name = \"Tsinghua University (Beijing)\"",
    );
    assert_ne!(edited, exported);
    let edited = format!(
        "{edited}\n[[organizations]]\nid = \"e2e-apply-motors\"\nkind = \"automaker\"\nenglish_name = \"Apply Motors\"\naliases = [\"AM\"]\ncountry_code = \"CN\"\n"
    );
    let file = dir.join("edited.toml");
    std::fs::write(&file, edited).expect("write");

    let dry = apply(&cli, &file, &["--dry-run"]);
    assert_eq!(dry["dryRun"], Value::Bool(true));
    let planned = actions(&dry);
    assert_eq!(planned["create"], ["organizations/e2e-apply-motors"]);
    assert_eq!(planned["update"], ["organizations/tsinghua-university"]);
    assert_eq!(planned["not_in_file"], ["organizations/e2e-stray"]);
    let update = dry["records"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["action"] == "update"))
        .expect("an update row");
    assert_eq!(update["fields"], serde_json::json!(["english_name"]));
    // The dry run wrote nothing.
    assert_eq!(
        org_name(&stack, "tsinghua-university").await.as_deref(),
        Ok("Tsinghua University")
    );
    assert_eq!(
        org_name(&stack, "e2e-apply-motors").await,
        Err(Code::NotFound)
    );
    // The table says the same, for people.
    let table = cli.table(&["apply", "-f", &file.to_string_lossy(), "--dry-run"]);
    assert!(table.starts_with("dry run: nothing written"), "{table}");
    assert!(
        table.contains("1 to create, 1 to update") && table.contains("--prune deletes them"),
        "{table}"
    );

    let applied = apply(&cli, &file, &[]);
    assert_eq!(actions(&applied)["create"], planned["create"]);
    assert_eq!(actions(&applied)["update"], planned["update"]);
    assert_eq!(
        org_name(&stack, "tsinghua-university").await.as_deref(),
        Ok("Tsinghua University (Beijing)")
    );
    assert_eq!(
        org_name(&stack, "e2e-apply-motors").await.as_deref(),
        Ok("Apply Motors")
    );
    // Without --prune the stray record stays, however often apply runs.
    let again = actions(&apply(&cli, &file, &[]));
    assert_eq!(
        again.keys().collect::<Vec<_>>(),
        ["not_in_file", "unchanged"],
        "{again:#?}"
    );
    assert_eq!(
        org_name(&stack, "e2e-stray").await.as_deref(),
        Ok("E2E e2e-stray")
    );

    let pruned = actions(&apply(&cli, &file, &["--prune"]));
    assert_eq!(pruned["delete"], ["organizations/e2e-stray"]);
    assert_eq!(org_name(&stack, "e2e-stray").await, Err(Code::NotFound));
    let settled = actions(&apply(&cli, &file, &["--prune"]));
    assert_eq!(settled.keys().collect::<Vec<_>>(), ["unchanged"]);

    // Back to the seeded file, pruning: the organisation only the edit had goes.
    let back = actions(&apply(&cli, &dir.join("seeded.toml"), &["--prune"]));
    assert_eq!(back["delete"], ["organizations/e2e-apply-motors"]);
    assert_eq!(back["update"], ["organizations/tsinghua-university"]);
    assert_eq!(
        org_name(&stack, "e2e-apply-motors").await,
        Err(Code::NotFound)
    );

    // A bad file: every violation with its path, nothing written.
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[organizations]]\nid = \"Bad Id\"\nkind = \"automaker\"\nenglish_name = \"X\"\n",
    )
    .expect("write");
    let out = cli.run(&["apply", "-f", &bad.to_string_lossy()]);
    assert_eq!(out.code, 3, "{out}");
    assert!(
        out.stderr.contains("organizations[0].id") && out.stderr.contains("nothing written"),
        "{out}"
    );
}

async fn export_applied_to_an_empty_stack_round_trips(backend: Backend) {
    let seeded = Stack::start(&backend, true).await;
    // A correction, so supersession goes through the round trip too.
    let mut r = seeded.registry_client().await;
    r.create_event(rwire::CreateEventRequest {
        event: Some(rwire::Event {
            kind: rwire::EventKind::Statement as i32,
            title: "Nissan corrects its export plans".to_owned(),
            participants: vec![rwire::EventParticipant {
                participant: Some(Participant::Organization(
                    "organizations/nissan-china".to_owned(),
                )),
                role: "announcer".to_owned(),
            }],
            status: rwire::EventStatus::Clarified as i32,
            supersedes: "events/nissan-considers-exports-from-china".to_owned(),
            sources: vec![SOURCE.to_owned()],
            ..Default::default()
        }),
        event_id: "e2e-correction".to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
    })
    .await
    .expect("a correction");
    let dir = seeded.dir.path().to_path_buf();
    let first = export(&seeded.cli(), &dir.join("registry.yaml"));
    assert!(
        first.contains("supersedes: nissan-considers-exports-from-china"),
        "{first}"
    );

    let empty = Stack::start(&backend, false).await;
    let cli = empty.cli();
    let created = actions(&apply(&cli, &dir.join("registry.yaml"), &[]));
    assert_eq!(
        created.keys().collect::<Vec<_>>(),
        ["create"],
        "{created:#?}"
    );
    let again = actions(&apply(&cli, &dir.join("registry.yaml"), &[]));
    assert_eq!(
        again.keys().collect::<Vec<_>>(),
        ["unchanged"],
        "{again:#?}"
    );
    assert_eq!(again["unchanged"].len(), created["create"].len());

    let superseded = empty
        .registry_client()
        .await
        .get_event(rwire::GetEventRequest {
            name: "events/nissan-considers-exports-from-china".to_owned(),
        })
        .await
        .expect("the corrected event")
        .into_inner();
    assert_eq!(superseded.status, rwire::EventStatus::Superseded as i32);
    assert_eq!(superseded.superseded_by, "events/e2e-correction");

    let second = export(&cli, &empty.dir.path().join("registry.yaml"));
    assert_eq!(second, first);
}
