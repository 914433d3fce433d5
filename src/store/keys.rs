//! Signing keys, stored so that every node signs and verifies with the same keys.
//!
//! Per algorithm exactly one key is *active* (`retire_at` NULL; a partial unique index enforces it):
//! it signs. A rotation retires it (`retire_at` set) and adds a new active one in one transaction.
//! `signed_until` is the latest expiry of any token the key may have signed, raised by the signers
//! before they sign ([`extend_lease`]), so a rotation knows how long the key must stay.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::signing_keys;
use super::{AnyConnection, StoreError, StoreResult};

#[derive(Debug, Clone, Queryable)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub private_pem: String,
    pub public_jwk: String,
    pub created_at: String,
    /// When the key stops verifying (Unix seconds); None while it is the active signer.
    pub retire_at: Option<i64>,
    /// Tokens signed with this key expire by then (Unix seconds).
    pub signed_until: i64,
}

/// A key taken out of signing by [`rotate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retired {
    pub kid: String,
    pub retire_at: i64,
    /// Its lease when it was retired: tokens it signed expire by then.
    pub signed_until: i64,
}

/// All keys, oldest first.
pub fn all(conn: &mut AnyConnection) -> StoreResult<Vec<SigningKeyRow>> {
    Ok(signing_keys::table.order((signing_keys::created_at.asc(), signing_keys::kid.asc())).load(conn)?)
}

fn insert(c: &mut AnyConnection, row: &SigningKeyRow) -> Result<usize, DieselError> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&row.kid),
            signing_keys::alg.eq(&row.alg),
            signing_keys::private_pem.eq(&row.private_pem),
            signing_keys::public_jwk.eq(&row.public_jwk),
            signing_keys::created_at.eq(&row.created_at),
            signing_keys::retire_at.eq(row.retire_at),
            signing_keys::signed_until.eq(row.signed_until),
        ))
        .execute(c)
}

/// Stores a key unless its algorithm already has an active one. Nodes starting at once all generate
/// one: the first insert wins (SQLite: one writer at a time; PostgreSQL: the partial unique index
/// refuses the others' inserts, which are then no-ops) and every node reads the winner back.
pub fn insert_if_absent(conn: &mut AnyConnection, row: &SigningKeyRow) -> StoreResult<()> {
    let result = super::write_tx(conn, |c| {
        let active: i64 = signing_keys::table
            .filter(signing_keys::alg.eq(&row.alg))
            .filter(signing_keys::retire_at.is_null())
            .count()
            .get_result(c)?;
        if active == 0 {
            insert(c, row)?;
        }
        Ok::<_, DieselError>(())
    });
    match result {
        Ok(()) | Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Promises that tokens signed with the active key `kid` expire by `until`: raises its
/// `signed_until` to `until` if lower. False when the key is no longer active (it was retired or
/// removed by a rotation): reload the keys and sign with the new one.
pub fn extend_lease(conn: &mut AnyConnection, kid: &str, until: i64) -> StoreResult<bool> {
    super::write_tx(conn, |c| {
        let active = || signing_keys::table.filter(signing_keys::kid.eq(kid)).filter(signing_keys::retire_at.is_null());
        diesel::update(active().filter(signing_keys::signed_until.lt(until)))
            .set(signing_keys::signed_until.eq(until))
            .execute(c)?;
        let n: i64 = active().count().get_result(c)?;
        Ok(n == 1)
    })
}

/// Makes `new` the active key of its algorithm: the active one is retired at `retire_at(its
/// signed_until)` and `new` stored, in one transaction. A signer raising `signed_until` at the same
/// moment is seen (the retirement is conditional on the value it read, and read again on a change).
/// Two rotations of one algorithm at once: the second fails with [`StoreError::Conflict`].
pub fn rotate(
    conn: &mut AnyConnection,
    new: &SigningKeyRow,
    retire_at: impl Fn(i64) -> i64,
) -> StoreResult<Vec<Retired>> {
    let result = super::write_tx(conn, |c| {
        let mut retired = Vec::new();
        for _ in 0..5 {
            let active: Vec<(String, i64)> = signing_keys::table
                .filter(signing_keys::alg.eq(&new.alg))
                .filter(signing_keys::retire_at.is_null())
                .select((signing_keys::kid, signing_keys::signed_until))
                .load(c)?;
            if active.is_empty() {
                break;
            }
            for (kid, signed_until) in active {
                let at = retire_at(signed_until);
                let n = diesel::update(
                    signing_keys::table
                        .filter(signing_keys::kid.eq(&kid))
                        .filter(signing_keys::retire_at.is_null())
                        .filter(signing_keys::signed_until.eq(signed_until)),
                )
                .set(signing_keys::retire_at.eq(Some(at)))
                .execute(c)?;
                if n == 1 {
                    retired.push(Retired { kid, retire_at: at, signed_until });
                }
            }
        }
        insert(c, new)?;
        Ok::<_, DieselError>(retired)
    });
    result.map_err(|e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            StoreError::Conflict(format!("the {} signing key (another rotation at the same time)", new.alg))
        }
        e => e.into(),
    })
}

/// Deletes the keys whose retire time has come (`retire_at <= now`); returns their kids.
pub fn prune(conn: &mut AnyConnection, now: i64) -> StoreResult<Vec<String>> {
    super::write_tx(conn, |c| {
        let gone = signing_keys::table.filter(signing_keys::retire_at.le(now));
        let kids: Vec<String> = gone.select(signing_keys::kid).order(signing_keys::kid.asc()).load(c)?;
        diesel::delete(signing_keys::table.filter(signing_keys::kid.eq_any(&kids))).execute(c)?;
        Ok(kids)
    })
}
