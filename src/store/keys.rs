//! Signing keys, stored so that every node signs and verifies with the same keys.

use diesel::prelude::*;

use super::schema::signing_keys;
use super::{AnyConnection, StoreResult};

#[derive(Debug, Clone, Queryable)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub private_pem: String,
    pub public_jwk: String,
    pub created_at: String,
}

/// All keys, oldest first.
pub fn all(conn: &mut AnyConnection) -> StoreResult<Vec<SigningKeyRow>> {
    Ok(signing_keys::table.order(signing_keys::created_at.asc()).load(conn)?)
}

/// Stores a key unless one with the same algorithm already exists (two nodes starting at once both
/// generate; the first insert wins and both then read it back).
pub fn insert_if_absent(conn: &mut AnyConnection, row: &SigningKeyRow) -> StoreResult<()> {
    super::write_tx(conn, |c| {
        let existing: i64 = signing_keys::table.filter(signing_keys::alg.eq(&row.alg)).count().get_result(c)?;
        if existing == 0 {
            diesel::insert_into(signing_keys::table)
                .values((
                    signing_keys::kid.eq(&row.kid),
                    signing_keys::alg.eq(&row.alg),
                    signing_keys::private_pem.eq(&row.private_pem),
                    signing_keys::public_jwk.eq(&row.public_jwk),
                    signing_keys::created_at.eq(&row.created_at),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}
