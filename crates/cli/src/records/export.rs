//! `autointel records export [-f FILE] [--format toml|yaml]`: every registry record in the
//! file format `apply` reads, so an export applied to an empty registry creates the same
//! records (and applied again changes nothing).

use anyhow::Context;
use autointel_registry::record_file::{self, Dataset};

use super::apply::file_format;
use super::kinds::{
    Events, Kind, Organizations, Partnerships, People, Relationships, Sources, Targets,
};
use super::plan::list_all;
use crate::args::ExportArgs;
use crate::client::Registry;

/// Every record of a kind, as domain values (every page).
async fn all<K: Kind>(c: &mut Registry) -> anyhow::Result<Vec<K::Domain>> {
    list_all::<K>(c)
        .await?
        .iter()
        .map(|w| {
            K::to_domain(w)
                .with_context(|| format!("{} as the registry returned it is invalid", K::name(w)))
        })
        .collect()
}

/// `records export`.
pub(crate) async fn run(mut c: Registry, args: ExportArgs) -> anyhow::Result<()> {
    let data = Dataset {
        sources: all::<Sources>(&mut c).await?,
        organizations: all::<Organizations>(&mut c).await?,
        relationships: all::<Relationships>(&mut c).await?,
        people: all::<People>(&mut c).await?,
        partnerships: all::<Partnerships>(&mut c).await?,
        events: all::<Events>(&mut c).await?,
        targets: all::<Targets>(&mut c).await?,
    };
    let format = file_format(args.format, args.file.as_deref());
    let text = record_file::to_text(&data, format)?;
    match &args.file {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())?,
    }
    Ok(())
}
