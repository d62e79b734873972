//! `autointel apply -f FILE [--dry-run] [--prune]`: make the registry hold the file's
//! records.
//!
//! One read of every record, one plan (`plan`), then the writes in dependency order. Every
//! create carries a fresh request id (a record deleted since an earlier run is created again,
//! never answered from that run's idempotency record), every update the etag read and a
//! mask of exactly the changed fields, so a concurrent edit is refused (ABORTED), not
//! overwritten; a delete re-reads the record and refuses if it changed since the plan. The
//! first failure stops the run: the rows written before it are printed, then the error.

use std::path::Path;

use autointel_registry::record_file::{self, FileError, FileFormat};
use tonic::{Code, Status};

use super::diff::changed_fields;
use super::kinds::{
    Events, Kind, Organizations, Partnerships, People, Relationships, Sources, Targets,
};
use super::plan::{Action, Change, Plan, Row, Step};
use crate::args::{ApplyArgs, RecordFormat};
use crate::client::Registry;
use crate::failure::{ExitCode, Failure};
use crate::output::{Format, Table, print_value};

/// The format `--format` names, else the file's extension implies.
pub(crate) fn file_format(flag: Option<RecordFormat>, path: Option<&Path>) -> FileFormat {
    match (flag, path) {
        (Some(RecordFormat::Toml), _) => FileFormat::Toml,
        (Some(RecordFormat::Yaml), _) => FileFormat::Yaml,
        (None, Some(path)) => FileFormat::of_path(path),
        (None, None) => FileFormat::Toml,
    }
}

/// Reads and validates the file: every bad entry with its path, one a line.
fn read(path: &Path, format: FileFormat) -> Result<record_file::Dataset, Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::invalid(format!("error: cannot read {shown}: {e}")))?;
    record_file::parse(&text, format).map_err(|e| match e {
        FileError::Invalid(err) => {
            let mut message = format!("error: {shown}: invalid entries; nothing written");
            for v in err.violations() {
                message.push_str(&format!("\n  {}: {}", v.field, v.description));
            }
            Failure::invalid(message)
        }
        other => Failure::invalid(format!("error: {shown}: {other}; nothing written")),
    })
}

/// A failed write: the record and why.
struct StepError {
    name: String,
    error: anyhow::Error,
}

impl StepError {
    fn new(name: &str, error: impl Into<anyhow::Error>) -> Self {
        Self {
            name: name.to_owned(),
            error: error.into(),
        }
    }

    fn into_failure(self, endpoint: &str) -> Failure {
        let mut failure = match self.error.downcast::<Status>() {
            Ok(status) => Failure::from_status(&status, endpoint),
            Err(error) => match error.downcast::<Failure>() {
                Ok(failure) => failure,
                Err(error) => Failure {
                    code: ExitCode::Failure,
                    message: format!("error: {error:#}"),
                },
            },
        };
        failure.message =
            failure
                .message
                .replacen("error: ", &format!("error: {}: ", self.name), 1);
        failure.message.push_str(
            "\n  (the records listed above were written; nothing after this one was; \
             apply again to continue)",
        );
        failure
    }
}

/// Writes one kind's steps (`writes` or `removals`), recording each done.
async fn write_steps<K: Kind>(
    c: &mut Registry,
    steps: &[Step<K::Wire>],
    done: &mut Vec<Row>,
) -> Result<(), StepError> {
    for step in steps {
        let name = step.name.as_str();
        match &step.change {
            Change::Create(wanted) => {
                let id = name.split_once('/').map_or(name, |(_, id)| id).to_owned();
                let request_id = uuid::Uuid::new_v4().to_string();
                K::create(c, id, wanted.clone(), request_id)
                    .await
                    .map_err(|e| StepError::new(name, e))?;
            }
            Change::Update {
                wanted,
                stored,
                fields,
            } => {
                let mut patch = wanted.clone();
                K::set_etag(&mut patch, K::etag(stored));
                K::update(c, patch, fields.clone())
                    .await
                    .map_err(|e| StepError::new(name, e))?;
            }
            Change::Delete(stored) => delete::<K>(c, name, stored).await?,
            Change::Unchanged | Change::NotInFile | Change::Refused { .. } => {}
        }
        done.push(step.row());
    }
    Ok(())
}

/// Deletes a record unless it changed since the plan read it. Its etag may have moved for
/// what the service derives (a target of an event deleted, an event reinstated by deleting
/// its correction, both earlier in this run): the record is read again and deleted with
/// its current etag only when no field the file holds differs.
async fn delete<K: Kind>(c: &mut Registry, name: &str, stored: &K::Wire) -> Result<(), StepError> {
    let current = match K::get(c, name.to_owned()).await {
        Ok(current) => current,
        Err(status) if status.code() == Code::NotFound => return Ok(()),
        Err(status) => return Err(StepError::new(name, status)),
    };
    let changed = changed_fields::<K>(&current, stored).map_err(|e| StepError::new(name, e))?;
    if !changed.is_empty() {
        return Err(StepError::new(
            name,
            Failure {
                code: ExitCode::Conflict,
                message: format!(
                    "error: changed by someone else since apply read it ({}); not deleted",
                    changed.join(", ")
                ),
            },
        ));
    }
    K::delete(c, name.to_owned(), K::etag(&current).to_owned())
        .await
        .map_err(|e| StepError::new(name, e))
}

/// Writes the whole plan in order.
async fn write(c: &mut Registry, plan: &Plan, done: &mut Vec<Row>) -> Result<(), StepError> {
    write_steps::<Sources>(c, &plan.sources.writes, done).await?;
    write_steps::<Organizations>(c, &plan.organizations.writes, done).await?;
    write_steps::<Relationships>(c, &plan.relationships.writes, done).await?;
    write_steps::<People>(c, &plan.people.writes, done).await?;
    write_steps::<Partnerships>(c, &plan.partnerships.writes, done).await?;
    write_steps::<Events>(c, &plan.events.writes, done).await?;
    write_steps::<Targets>(c, &plan.targets.writes, done).await?;
    write_steps::<Targets>(c, &plan.targets.removals, done).await?;
    write_steps::<Events>(c, &plan.events.removals, done).await?;
    write_steps::<Partnerships>(c, &plan.partnerships.removals, done).await?;
    write_steps::<People>(c, &plan.people.removals, done).await?;
    write_steps::<Relationships>(c, &plan.relationships.removals, done).await?;
    write_steps::<Organizations>(c, &plan.organizations.removals, done).await?;
    write_steps::<Sources>(c, &plan.sources.removals, done).await
}

/// How many rows of each action.
fn count(rows: &[Row], action: Action) -> usize {
    rows.iter().filter(|r| r.action == action).count()
}

/// Prints the rows: a table with a summary, its CSV, or JSON.
fn print(format: Format, rows: &[Row], dry_run: bool, prune: bool) -> anyhow::Result<()> {
    let mut table = Table::new(&["action", "record", "fields"]);
    if dry_run {
        table.title = Some("dry run: nothing written".to_owned());
    }
    for r in rows {
        table.row(vec![
            r.action.as_str().to_owned(),
            r.name.clone(),
            r.fields.join(", "),
        ]);
    }
    let (create, update, delete) = if dry_run {
        ("to create", "to update", "to delete")
    } else {
        ("created", "updated", "deleted")
    };
    table.note(format!(
        "{} {create}, {} {update}, {} unchanged, {} {delete}, {} not in the file{}",
        count(rows, Action::Create),
        count(rows, Action::Update),
        count(rows, Action::Unchanged),
        count(rows, Action::Delete),
        count(rows, Action::NotInFile),
        if count(rows, Action::NotInFile) > 0 && !prune {
            " (kept; --prune deletes them)"
        } else {
            ""
        }
    ));
    let json = serde_json::json!({
        "dryRun": dry_run,
        "prune": prune,
        "records": rows
            .iter()
            .map(|r| serde_json::json!({
                "action": r.action.as_str(),
                "name": r.name,
                "fields": r.fields,
            }))
            .collect::<Vec<_>>(),
    });
    print_value(format, &table, &json)
}

/// `apply`.
pub(crate) async fn run(
    mut c: Registry,
    args: ApplyArgs,
    format: Format,
    endpoint: &str,
) -> anyhow::Result<()> {
    let data = read(&args.file, file_format(args.format, Some(&args.file)))?;
    let plan = Plan::read(&mut c, &data, args.prune).await?;
    let rows = plan.rows();
    let refused: Vec<&Row> = rows
        .iter()
        .filter(|r| r.action == Action::Refused)
        .collect();
    if args.dry_run || !refused.is_empty() {
        print(format, &rows, true, args.prune)?;
    }
    if !refused.is_empty() {
        let mut message = format!(
            "error: {} records differ in fields no update may change; nothing written",
            refused.len()
        );
        for r in refused {
            message.push_str(&format!("\n  {}: {}", r.name, r.fields.join(", ")));
        }
        message.push_str(
            "\n  (to change them, remove them from the file and apply with --prune, then add \
             them back)",
        );
        return Err(Failure {
            code: ExitCode::Conflict,
            message,
        }
        .into());
    }
    if args.dry_run {
        return Ok(());
    }
    let mut done = Vec::new();
    let result = write(&mut c, &plan, &mut done).await;
    print(format, &done, false, args.prune)?;
    result.map_err(|e| e.into_failure(endpoint).into())
}
