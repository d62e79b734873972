//! Arrow Flight on stats (`arrow.flight.protocol.FlightService`): figures and the computed
//! answers (series, share, breakdown, ranking) as Arrow record batches. A ticket (or a
//! descriptor's command) is an `autointel.stats.v1.FlightQuery` (`ticket`); figures stream
//! a batch at a time, each read from the engine at the ticket's sequence mark (`figures`),
//! so a stream shows one state however many imports land while it is read; an answer is
//! the `StatsService` answer as rows (`answers`). Flight only reads: the methods that
//! would write are UNIMPLEMENTED (and need a writer, `autointel_server::auth`).

mod answers;
mod figures;
mod ticket;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_flight::encode::{DictionaryHandling, FlightDataEncoderBuilder};
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use arrow_schema::{Schema, SchemaRef};
use autointel_proto::stats::flight_query::Query;
use futures_util::{Stream, TryStreamExt as _};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use self::figures::FigureColumns;
pub use self::figures::{figure_batch, figure_schema};
use self::ticket::FlightRequest;
use super::figures::read_mark;
use super::paging::list_request;
use super::queries;
use super::state::State;
use crate::error::StatsError;

/// Figures per record batch (and per hold of the engine's read lock), at least.
const BATCH_ROWS: usize = 16_384;

/// Batches built ahead of the one being sent.
const PREFETCH: usize = 2;

/// The schema metadata key holding the sequence mark a stream was read at.
const MARK_KEY: &str = "autointel.sequence_mark";

/// The schema metadata key holding the sources an answer cites (resource names,
/// comma-separated).
const SOURCES_KEY: &str = "autointel.sources";

type Streamed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The Flight service over the state `StatsService` shares.
#[derive(Clone, Debug)]
pub struct StatsFlight {
    state: Arc<State>,
    /// Largest `FlightData` message the encoder aims for (the server's message limit halved).
    max_flight_data: usize,
}

impl StatsFlight {
    /// The service; `max_message_bytes` is the server's encoding limit.
    pub fn new(state: Arc<State>, max_message_bytes: usize) -> Self {
        Self {
            state,
            max_flight_data: (max_message_bytes / 2).max(64 * 1024),
        }
    }

    /// The schema of a query's stream, `mark` and `sources` in its metadata.
    fn schema(request: &FlightRequest, mark: i64, sources: &[String]) -> Schema {
        let fields = match &request.query {
            Query::Figures(_) => figure_schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect(),
            Query::Series(_) => answers::series(&Default::default())
                .map(|r| r.fields)
                .unwrap_or_default(),
            Query::Share(_) => answers::share(&Default::default())
                .map(|r| r.fields)
                .unwrap_or_default(),
            Query::Breakdown(_) => answers::breakdown(&Default::default())
                .map(|r| r.fields)
                .unwrap_or_default(),
            Query::Ranking(_) => answers::ranking(&Default::default())
                .map(|r| r.fields)
                .unwrap_or_default(),
        };
        let mut metadata = HashMap::from([(MARK_KEY.to_owned(), mark.to_string())]);
        if !matches!(request.query, Query::Figures(_)) {
            metadata.insert(SOURCES_KEY.to_owned(), sources.join(","));
        }
        Schema::new_with_metadata(fields, metadata)
    }

    /// A computed answer's rows; the violations of its request under the ticket's path.
    async fn answer(&self, request: &FlightRequest) -> Result<answers::Rows, StatsError> {
        let state = &self.state;
        let within = |e| request.within(e);
        match &request.query {
            Query::Series(r) => {
                let mut r = r.clone();
                r.include_events = false;
                answers::series(&queries::series(state, &r).await.map_err(within)?)
            }
            Query::Share(r) => answers::share(&queries::share(state, r).map_err(within)?),
            Query::Breakdown(r) => {
                answers::breakdown(&queries::breakdown(state, r).map_err(within)?)
            }
            Query::Ranking(r) => {
                answers::ranking(&queries::ranking(state, r).await.map_err(within)?)
            }
            Query::Figures(_) => Err(StatsError::Internal("figures are not an answer".to_owned())),
        }
    }

    /// The record batches of a query, read at `mark`, and their schema.
    async fn batches(
        &self,
        request: &FlightRequest,
        mark: i64,
    ) -> Result<(SchemaRef, Streamed<RecordBatch>), StatsError> {
        let Query::Figures(r) = &request.query else {
            let rows = self.answer(request).await?;
            let schema = Arc::new(Self::schema(request, mark, &rows.sources));
            let batch = rows.batch(schema.clone())?;
            return Ok((schema, Box::pin(futures_util::stream::iter([Ok(batch)]))));
        };
        let (filter, _) = list_request(r).map_err(|e| request.within(e))?;
        let schema = Arc::new(Self::schema(request, mark, &[]));
        let (tx, rx) = tokio::sync::mpsc::channel(PREFETCH);
        let state = self.state.clone();
        let batch_schema = schema.clone();
        // Built off the async workers, a batch ahead of the encoder: the listing's groups
        // once, then batches of whole groups, each under its own short hold of the read
        // lock, all at the same mark. A client gone closes the channel and ends the loop.
        tokio::task::spawn_blocking(move || {
            let groups = match state.read() {
                Ok(engine) => engine.list_groups(&filter),
                Err(e) => {
                    let _ = tx.blocking_send(Err(Status::from(e)));
                    return;
                }
            };
            let mut next = 0;
            while next < groups.len() {
                let built = state.read().and_then(|engine| {
                    // Each group appended right after it is listed: the rows listing read
                    // are still cached when its figures are viewed.
                    let mut columns = FigureColumns::with_capacity(BATCH_ROWS);
                    while next < groups.len() && columns.len() < BATCH_ROWS {
                        let listed = engine.list_group_figures(&filter, &groups[next], Some(mark));
                        columns.append(&engine, &listed, mark)?;
                        next += 1;
                    }
                    columns.finish(&batch_schema)
                });
                let sent = match built {
                    Ok(batch) if batch.num_rows() == 0 => true,
                    Ok(batch) => tx.blocking_send(Ok(batch)).is_ok(),
                    Err(e) => {
                        let _ = tx.blocking_send(Err(Status::from(e)));
                        false
                    }
                };
                if !sent {
                    return;
                }
            }
        });
        Ok((schema, Box::pin(ReceiverStream::new(rx))))
    }

    /// The mark a request reads at (its own, caught up to, or the current one).
    async fn mark(&self, request: &FlightRequest) -> Result<i64, StatsError> {
        read_mark(&self.state, request.mark).await
    }

    /// `GetFlightInfo`: the schema and one endpoint whose ticket pins the current mark.
    async fn flight_info(&self, descriptor: FlightDescriptor) -> Result<FlightInfo, StatsError> {
        let request = FlightRequest::decode(&descriptor.cmd, "cmd")?;
        let mark = self.mark(&request).await?;
        let (schema, records) = match &request.query {
            Query::Figures(r) => {
                list_request(r).map_err(|e| request.within(e))?;
                (Self::schema(&request, mark, &[]), -1)
            }
            _ => {
                let rows = self.answer(&request).await?;
                let count = rows.columns.first().map_or(0, |c| c.len());
                (
                    Self::schema(&request, mark, &rows.sources),
                    i64::try_from(count).unwrap_or(-1),
                )
            }
        };
        let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(request.ticket_at(mark)));
        FlightInfo::new()
            .try_with_schema(&schema)
            .map(|info| {
                info.with_endpoint(endpoint)
                    .with_descriptor(descriptor)
                    .with_total_records(records)
                    .with_ordered(true)
            })
            .map_err(|e| StatsError::Internal(format!("encoding a schema: {e}")))
    }
}

/// UNIMPLEMENTED, saying what stats' Flight service offers instead.
fn unimplemented(method: &str) -> Status {
    Status::unimplemented(format!(
        "stats' Flight service only reads: {method} is not offered (use GetFlightInfo and DoGet with an autointel.stats.v1.FlightQuery)"
    ))
}

#[tonic::async_trait]
impl FlightService for StatsFlight {
    type HandshakeStream = Streamed<HandshakeResponse>;
    type ListFlightsStream = Streamed<FlightInfo>;
    type DoGetStream = Streamed<FlightData>;
    type DoPutStream = Streamed<PutResult>;
    type DoExchangeStream = Streamed<FlightData>;
    type DoActionStream = Streamed<arrow_flight::Result>;
    type ListActionsStream = Streamed<ActionType>;

    async fn handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        Err(Status::unimplemented(
            "no handshake: send the token as an `authorization: Bearer …` header on every call",
        ))
    }

    async fn list_flights(
        &self,
        _request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        // Every flight is made from a query; none is stored to list.
        Ok(Response::new(Box::pin(futures_util::stream::empty())))
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Ok(Response::new(self.flight_info(request.into_inner()).await?))
    }

    async fn poll_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        // Answers are ready at once: the poll is complete on its first call.
        let info = self.flight_info(request.into_inner()).await?;
        Ok(Response::new(PollInfo {
            info: Some(info),
            flight_descriptor: None,
            progress: Some(1.0),
            expiration_time: None,
        }))
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        let flight = FlightRequest::decode(&request.get_ref().cmd, "cmd")?;
        let schema = Self::schema(&flight, 0, &[]);
        // The schema in its IPC form, as `FlightInfo` carries it.
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(format!("encoding a schema: {e}")))?;
        Ok(Response::new(SchemaResult {
            schema: info.schema,
        }))
    }

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        let flight = FlightRequest::decode(&request.get_ref().ticket, "ticket")?;
        let mark = self.mark(&flight).await?;
        let (schema, batches) = self.batches(&flight, mark).await?;
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .with_max_flight_data_size(self.max_flight_data)
            // Token columns stay dictionaries (a few bytes of tokens a batch), not text.
            .with_dictionary_handling(DictionaryHandling::Resend)
            .build(batches.map_err(FlightError::from))
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn do_put(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        Err(unimplemented("DoPut (import with ImportSalesFigures)"))
    }

    async fn do_exchange(
        &self,
        _request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        Err(unimplemented("DoExchange"))
    }

    async fn do_action(
        &self,
        _request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        Err(unimplemented("DoAction"))
    }

    async fn list_actions(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        Ok(Response::new(Box::pin(futures_util::stream::empty())))
    }
}
