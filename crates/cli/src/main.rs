//! `autointel`: run the local stack, import figures, query both services, and apply or
//! export the registry's records.

mod args;
mod chart;
mod client;
mod export;
mod failure;
mod import;
mod output;
mod query;
mod records;
mod registry;
mod up;

use tonic::Status;

use crate::args::{Cli, Command, RecordsCommand};
use crate::client::BearerToken;
use crate::failure::{ExitCode, Failure};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = args::parse(&argv);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            std::process::ExitCode::from(failure.code as u8)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let global = cli.global;
    let token = BearerToken::new(global.token.as_deref())?;
    let format = global.output;
    let stats_url = global.stats_url();
    let registry_url = global.registry_url();
    let endpoint = match &cli.command {
        Command::Organizations(_)
        | Command::Partnerships(_)
        | Command::Events(_)
        | Command::Timeline(_)
        | Command::Targets(_)
        | Command::Apply(_)
        | Command::Records(_) => registry_url.clone(),
        _ => stats_url.clone(),
    };
    let outcome = match cli.command {
        Command::Up(args) => return up::run(args).await,
        Command::Import(args) => return import::run(&stats_url, &token, args).await,
        Command::Chart(command) => {
            return chart::run(&stats_url, &registry_url, &token, command).await;
        }
        Command::Total(a) => {
            query::total(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Compare(a) => {
            query::compare(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Series(a) => {
            query::series(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Rank(a) => query::rank(client::stats(&stats_url, &token).await?, a, format).await,
        Command::Share(a) => {
            query::share(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Breakdown(a) => {
            query::breakdown(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Destinations(a) => {
            query::destinations(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Rollup(a) => {
            query::rollup(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::TargetProgress(a) => {
            query::target_progress(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::ForecastAccuracy(a) => {
            query::forecast_accuracy(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Revisions(a) => {
            query::revisions(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Releases(a) => {
            query::releases(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Diff(a) => query::diff(client::stats(&stats_url, &token).await?, a, format).await,
        Command::Watch(a) => {
            query::watch(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Measures(a) => {
            query::measures(client::stats(&stats_url, &token).await?, a, format).await
        }
        Command::Export(a) => export::run(client::flight(&stats_url, &token).await?, a).await,
        Command::Organizations(c) => {
            registry::organizations(client::registry(&registry_url, &token).await?, c, format).await
        }
        Command::Partnerships(c) => {
            registry::partnerships(client::registry(&registry_url, &token).await?, c, format).await
        }
        Command::Events(c) => {
            registry::events(client::registry(&registry_url, &token).await?, c, format).await
        }
        Command::Timeline(a) => {
            registry::timeline(client::registry(&registry_url, &token).await?, a, format).await
        }
        Command::Targets(c) => {
            registry::targets(client::registry(&registry_url, &token).await?, c, format).await
        }
        Command::Apply(a) => {
            let c = client::registry(&registry_url, &token).await?;
            records::apply(c, a, format, &registry_url).await
        }
        Command::Records(RecordsCommand::Export(a)) => {
            records::export(client::registry(&registry_url, &token).await?, a).await
        }
    };
    outcome.map_err(|e| explain(e, &endpoint))
}

/// Turns any error into a failure a person can read.
fn explain(error: anyhow::Error, endpoint: &str) -> Failure {
    match error.downcast::<Failure>() {
        Ok(failure) => failure,
        Err(error) => match error.downcast::<Status>() {
            Ok(status) => Failure::from_status(&status, endpoint),
            Err(error) => Failure {
                code: ExitCode::Failure,
                message: format!("error: {error:#}"),
            },
        },
    }
}
