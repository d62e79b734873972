//! What a Flight ticket or descriptor command holds: an `autointel.stats.v1.FlightQuery`,
//! decoded and checked once at the edge; the query's own request is checked by the handler
//! that answers it, its violations reported under the ticket's path.

use autointel_domain::{ValidationError, Violations};
use autointel_proto::stats as wire;
use autointel_proto::stats::flight_query::Query;
use prost::Message;

use crate::error::StatsError;

/// A decoded Flight query: what to read, and at which sequence mark.
#[derive(Clone, Debug)]
pub(super) struct FlightRequest {
    /// The query.
    pub(super) query: Query,
    /// The mark to read figures at; `None` reads at the replica's current one.
    pub(super) mark: Option<i64>,
    /// Where the query sits in the request, for violations' paths (`ticket`, `cmd`).
    pub(super) field: &'static str,
}

impl FlightRequest {
    /// Decodes `bytes`, the `field` of a Flight request (a ticket or a descriptor's command).
    pub(super) fn decode(bytes: &[u8], field: &'static str) -> Result<Self, StatsError> {
        let mut v = Violations::new();
        let Ok(message) = wire::FlightQuery::decode(bytes) else {
            v.push(
                field,
                "is not an autointel.stats.v1.FlightQuery (protobuf-encoded)",
            );
            return Err(StatsError::InvalidArgument(finished(v)));
        };
        if message.sequence_mark < 0 {
            v.push(
                format!("{field}.sequence_mark"),
                "must be 0 (the current mark) or a mark a ticket carried",
            );
        }
        match &message.query {
            None => v.push(
                format!("{field}.query"),
                "is required: figures, series, share, breakdown or ranking",
            ),
            Some(Query::Figures(r)) => {
                if r.page_size != 0 {
                    v.push(
                        format!("{field}.figures.page_size"),
                        "must be empty: a Flight stream is the whole listing",
                    );
                }
                if !r.page_token.is_empty() {
                    v.push(
                        format!("{field}.figures.page_token"),
                        "must be empty: a Flight stream is the whole listing",
                    );
                }
            }
            Some(_) => {}
        }
        match (v.finish(), message.query) {
            (Err(e), _) => Err(StatsError::InvalidArgument(e)),
            (Ok(()), Some(query)) => Ok(Self {
                query,
                mark: (message.sequence_mark > 0).then_some(message.sequence_mark),
                field,
            }),
            (Ok(()), None) => Err(StatsError::Internal(
                "a missing query was not reported".to_owned(),
            )),
        }
    }

    /// The ticket that reads this query at `mark`.
    pub(super) fn ticket_at(&self, mark: i64) -> Vec<u8> {
        wire::FlightQuery {
            query: Some(self.query.clone()),
            sequence_mark: mark,
        }
        .encode_to_vec()
    }

    /// The query's name in the oneof (`figures`, `series`, …).
    pub(super) fn kind(&self) -> &'static str {
        match self.query {
            Query::Figures(_) => "figures",
            Query::Series(_) => "series",
            Query::Share(_) => "share",
            Query::Breakdown(_) => "breakdown",
            Query::Ranking(_) => "ranking",
        }
    }

    /// An error of the query's own request, its violations' paths under this request's
    /// (`ticket.series.period`); other errors unchanged.
    pub(super) fn within(&self, e: StatsError) -> StatsError {
        match e {
            StatsError::InvalidArgument(inner) => {
                let mut v = Violations::new();
                v.extend_prefixed(&format!("{}.{}", self.field, self.kind()), inner);
                StatsError::InvalidArgument(finished(v))
            }
            other => other,
        }
    }
}

/// The violations collected (at least one).
fn finished(v: Violations) -> ValidationError {
    match v.finish() {
        Err(e) => e,
        Ok(()) => ValidationError::single("", "invalid"),
    }
}
