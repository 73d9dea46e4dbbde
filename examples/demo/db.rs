//! The demo apps' users, in SQLite: just-in-time provisioning (`Provisioner`) keyed by tenant
//! and email.

use std::sync::{Arc, Mutex};

use saml_sp::login::{ProvisionError, Provisioner, SamlIdentity};

/// Users in SQLite (in memory unless `SAML_SP_DB` names a file).
#[derive(Clone)]
pub struct Db(Arc<Mutex<rusqlite::Connection>>);

impl Db {
    /// Opens (creating) the users table.
    pub fn open() -> rusqlite::Result<Db> {
        let conn = rusqlite::Connection::open(
            std::env::var("SAML_SP_DB").unwrap_or_else(|_| ":memory:".into()),
        )?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, email TEXT NOT NULL, first_name TEXT, last_name TEXT, groups_csv TEXT, UNIQUE (tenant, email));")?;
        Ok(Db(Arc::new(Mutex::new(conn))))
    }
    /// A user's email, first and last name, groups.
    pub fn get(&self, id: i64) -> Option<(String, String, String, String)> {
        let conn = self.0.lock().ok()?;
        conn.query_row(
            "SELECT email, first_name, last_name, groups_csv FROM users WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .ok()
    }
}

impl Provisioner for Db {
    type User = i64;
    async fn upsert(&self, tenant: &str, id: &SamlIdentity) -> Result<i64, ProvisionError> {
        let conn = self
            .0
            .lock()
            .map_err(|_| ProvisionError("database lock poisoned".into()))?;
        conn.query_row(
            "INSERT INTO users (tenant, email, first_name, last_name, groups_csv) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (tenant, email) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name, groups_csv = excluded.groups_csv RETURNING id",
            (tenant, &id.email, &id.first_name, &id.last_name, id.groups.join(", ")),
            |r| r.get(0),
        )
        .map_err(|e| ProvisionError(e.to_string()))
    }
    async fn find(&self, tenant: &str, id: &SamlIdentity) -> Result<Option<i64>, ProvisionError> {
        let conn = self
            .0
            .lock()
            .map_err(|_| ProvisionError("database lock poisoned".into()))?;
        match conn.query_row(
            "SELECT id FROM users WHERE tenant = ?1 AND email = ?2",
            (tenant, &id.email),
            |r| r.get(0),
        ) {
            Ok(v) => Ok(Some(v)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(ProvisionError(e.to_string())),
        }
    }
}
