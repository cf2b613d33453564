//! The Spin platform imports the component uses, implemented by the host:
//! `fermyon:spin/sqlite@2.0.0` on [`crate::sqlite`] and `fermyon:spin/variables@2.0.0` on
//! [`crate::variables`].
//!
//! The WIT comes from the spin-sdk 5.2.0 crate the component is built with (see
//! `wit/deps/spin@2.0.0/package.wit`). Host functions are `async`: a statement may wait for the
//! writer lease or for its group's fsync, and that wait must suspend the instance, not a thread.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::sqlite::{self, Database, Session, SqlError};
use crate::variables::{VariableError, Variables};

wasmtime::component::bindgen!({
    path: "wit",
    world: "spin-imports",
    imports: { default: async | trappable },
    with: {
        "fermyon:spin/sqlite.connection": crate::sqlite::Session,
    },
});

use fermyon::spin::{sqlite as wit_sqlite, variables as wit_variables};

/// What every instance shares: the databases it may open and the variables.
pub struct SpinCtx {
    /// Label → database. Spin's manifest lists the labels a component may open; the local host
    /// serves `default`.
    pub databases: HashMap<String, Database>,
    pub variables: Arc<Variables>,
}

/// The per-call view the bindings work on: the instance's resource table and the shared context.
pub struct SpinView<'a> {
    pub table: &'a mut ResourceTable,
    pub ctx: &'a SpinCtx,
}

struct SpinData;

impl HasData for SpinData {
    type Data<'a> = SpinView<'a>;
}

/// Adds both interfaces to `linker`; `view` finds them in the store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> SpinView<'_>,
) -> wasmtime::Result<()> {
    wit_sqlite::add_to_linker::<T, SpinData>(linker, view)?;
    wit_variables::add_to_linker::<T, SpinData>(linker, view)?;
    Ok(())
}

impl From<wit_sqlite::Value> for sqlite::Value {
    fn from(v: wit_sqlite::Value) -> Self {
        match v {
            wit_sqlite::Value::Integer(i) => sqlite::Value::Integer(i),
            wit_sqlite::Value::Real(f) => sqlite::Value::Real(f),
            wit_sqlite::Value::Text(s) => sqlite::Value::Text(s),
            wit_sqlite::Value::Blob(b) => sqlite::Value::Blob(b),
            wit_sqlite::Value::Null => sqlite::Value::Null,
        }
    }
}

impl From<sqlite::Value> for wit_sqlite::Value {
    fn from(v: sqlite::Value) -> Self {
        match v {
            sqlite::Value::Integer(i) => wit_sqlite::Value::Integer(i),
            sqlite::Value::Real(f) => wit_sqlite::Value::Real(f),
            sqlite::Value::Text(s) => wit_sqlite::Value::Text(s),
            sqlite::Value::Blob(b) => wit_sqlite::Value::Blob(b),
            sqlite::Value::Null => wit_sqlite::Value::Null,
        }
    }
}

impl From<SqlError> for wit_sqlite::Error {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::DatabaseFull => wit_sqlite::Error::DatabaseFull,
            other => wit_sqlite::Error::Io(other.to_string()),
        }
    }
}

impl wit_sqlite::Host for SpinView<'_> {}

impl wit_sqlite::HostConnection for SpinView<'_> {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<Session>, wit_sqlite::Error>> {
        let Some(db) = self.ctx.databases.get(&database) else {
            return Ok(Err(wit_sqlite::Error::NoSuchDatabase));
        };
        Ok(Ok(self.table.push(db.session())?))
    }

    async fn execute(
        &mut self,
        connection: Resource<Session>,
        statement: String,
        parameters: Vec<wit_sqlite::Value>,
    ) -> wasmtime::Result<Result<wit_sqlite::QueryResult, wit_sqlite::Error>> {
        let session = self.table.get_mut(&connection)?;
        let params = parameters.into_iter().map(sqlite::Value::from).collect();
        Ok(match session.execute(statement, params).await {
            Ok(result) => Ok(wit_sqlite::QueryResult {
                columns: result.columns,
                rows: result
                    .rows
                    .into_iter()
                    .map(|row| wit_sqlite::RowResult {
                        values: row.into_iter().map(wit_sqlite::Value::from).collect(),
                    })
                    .collect(),
            }),
            Err(e) => Err(e.into()),
        })
    }

    async fn drop(&mut self, connection: Resource<Session>) -> wasmtime::Result<()> {
        // Dropping the session rolls back a transaction the guest left open.
        self.table.delete(connection)?;
        Ok(())
    }
}

impl From<VariableError> for wit_variables::Error {
    fn from(e: VariableError) -> Self {
        match e {
            VariableError::InvalidName(_) => wit_variables::Error::InvalidName(e.to_string()),
            VariableError::Undefined(_) => wit_variables::Error::Undefined(e.to_string()),
        }
    }
}

impl wit_variables::Host for SpinView<'_> {
    async fn get(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<String, wit_variables::Error>> {
        Ok(self.ctx.variables.get(&name).map_err(Into::into))
    }
}
