//! A connection for one read or write of a patient's data that may have to be logged: with an
//! access log line to write, a transaction that has already appended it and commits with the
//! read, so a read that fails leaves no line and nothing is read without one.

use sqlx::pool::PoolConnection;
use sqlx::{Database, Transaction};

pub enum Audited<DB: Database> {
    /// The patient's own data, or the service's own work: nothing to log.
    Plain(PoolConnection<DB>),
    /// Someone else's access: the line is written, and commits with what follows.
    Logged(Transaction<'static, DB>),
}

impl<DB: Database> Audited<DB> {
    pub fn conn(&mut self) -> &mut DB::Connection {
        match self {
            Audited::Plain(conn) => conn,
            Audited::Logged(tx) => tx,
        }
    }

    /// Commits the access log line with the read; call once the read has succeeded.
    pub async fn finish(self) -> Result<(), sqlx::Error> {
        match self {
            Audited::Plain(_) => Ok(()),
            Audited::Logged(tx) => tx.commit().await,
        }
    }
}
