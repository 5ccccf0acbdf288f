//! Describe of a statement that returns no rows.
//!
//! PostgreSQL answers Describe (statement) of an `INSERT … VALUES ($1, $2)`
//! with ParameterDescription and **NoData**. pgwire 0.42 sends NoData only
//! when a statement has neither parameters nor result columns, and
//! otherwise an empty RowDescription, which pgJDBC reads as "this statement
//! returns a result set" and then rejects `executeUpdate` with "A result
//! was returned when none was expected". The connection's `on_describe`
//! sends statements without result columns through here instead.

use std::fmt::Debug;

use futures::{Sink, SinkExt};
use pgwire::api::Type;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription};

/// ParameterDescription with `parameters`, then NoData.
pub(super) async fn send_parameters_and_no_data<C>(client: &mut C, parameters: &[Type]) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let oids = parameters.iter().map(|t| t.oid()).collect();
    client.send(PgWireBackendMessage::ParameterDescription(ParameterDescription::new(oids))).await?;
    client.send(PgWireBackendMessage::NoData(NoData::new())).await?;
    Ok(())
}
