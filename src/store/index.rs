//! Index rows: what a resource contributes to search, replaced on every write.
//!
//! The rows are computed above the store (from the search-parameter registry) and arrive here as plain
//! data; this module only writes and deletes them.

use diesel::prelude::*;

use super::schema::{compartment, idx_date, idx_number, idx_quantity, idx_reference, idx_string, idx_token, idx_uri};
use super::{AnyConnection, StoreResult};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexRows {
    /// Ids of the patients whose compartment holds the resource.
    pub compartment: Vec<String>,
    pub strings: Vec<StringRow>,
    pub tokens: Vec<TokenRow>,
    pub dates: Vec<DateRow>,
    pub references: Vec<ReferenceRow>,
    pub quantities: Vec<QuantityRow>,
    pub numbers: Vec<NumberRow>,
    pub uris: Vec<UriRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringRow {
    pub param: String,
    pub value: String,
    pub norm: String,
}
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub param: String,
    pub system: Option<String>,
    pub code: Option<String>,
    pub text: Option<String>,
}
#[derive(Debug, Clone, PartialEq)]
pub struct DateRow {
    pub param: String,
    pub low: i64,
    pub high: i64,
}
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceRow {
    pub param: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub url: String,
}
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityRow {
    pub param: String,
    pub value: String,
    pub num: f64,
    pub system: Option<String>,
    pub code: Option<String>,
    pub unit: Option<String>,
}
#[derive(Debug, Clone, PartialEq)]
pub struct NumberRow {
    pub param: String,
    pub value: String,
    pub num: f64,
}
#[derive(Debug, Clone, PartialEq)]
pub struct UriRow {
    pub param: String,
    pub value: String,
}

/// Rows per INSERT statement: the widest index row binds 8 values, so a statement stays far below
/// SQLite's 32766 and PostgreSQL's 65535 bound values.
const ROWS_PER_INSERT: usize = 1000;

/// Runs one multi-row `INSERT … VALUES (…), (…)` per [`ROWS_PER_INSERT`] rows of `rows`, on the
/// concrete connection (diesel's batch insert is per backend).
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        for chunk in $rows.chunks(ROWS_PER_INSERT) {
            match &mut *$conn {
                AnyConnection::Postgresql(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                AnyConnection::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
    }};
}

/// Deletes every index row of `seq` and writes `rows` in their place.
pub fn replace(conn: &mut AnyConnection, seq: i64, res_type: &str, rows: &IndexRows) -> StoreResult<()> {
    diesel::delete(compartment::table.filter(compartment::res_seq.eq(seq))).execute(conn)?;
    diesel::delete(idx_string::table.filter(idx_string::res_seq.eq(seq))).execute(conn)?;
    diesel::delete(idx_token::table.filter(idx_token::res_seq.eq(seq))).execute(conn)?;
    diesel::delete(idx_date::table.filter(idx_date::res_seq.eq(seq))).execute(conn)?;
    diesel::delete(idx_reference::table.filter(idx_reference::res_seq.eq(seq))).execute(conn)?;
    diesel::delete(idx_quantity::table.filter(idx_quantity::res_seq.eq(seq))).execute(conn)?;
    diesel::delete(idx_number::table.filter(idx_number::res_seq.eq(seq))).execute(conn)?;
    diesel::delete(idx_uri::table.filter(idx_uri::res_seq.eq(seq))).execute(conn)?;
    insert(conn, seq, res_type, rows)
}

/// Writes the index rows of `seq`, which has none yet (a resource just created): one multi-row
/// INSERT per table.
pub fn insert(conn: &mut AnyConnection, seq: i64, res_type: &str, rows: &IndexRows) -> StoreResult<()> {
    let mut patients: Vec<&String> = rows.compartment.iter().collect();
    patients.sort();
    patients.dedup();
    let v: Vec<_> = patients.iter().map(|p| (compartment::res_seq.eq(seq), compartment::patient_id.eq(*p))).collect();
    insert_rows!(conn, compartment::table, v);
    let v: Vec<_> = rows
        .strings
        .iter()
        .map(|r| {
            (
                idx_string::res_seq.eq(seq),
                idx_string::res_type.eq(res_type),
                idx_string::param.eq(&r.param),
                idx_string::value.eq(&r.value),
                idx_string::norm.eq(&r.norm),
            )
        })
        .collect();
    insert_rows!(conn, idx_string::table, v);
    let v: Vec<_> = rows
        .tokens
        .iter()
        .map(|r| {
            (
                idx_token::res_seq.eq(seq),
                idx_token::res_type.eq(res_type),
                idx_token::param.eq(&r.param),
                idx_token::system.eq(&r.system),
                idx_token::code.eq(&r.code),
                idx_token::text.eq(&r.text),
            )
        })
        .collect();
    insert_rows!(conn, idx_token::table, v);
    let v: Vec<_> = rows
        .dates
        .iter()
        .map(|r| {
            (
                idx_date::res_seq.eq(seq),
                idx_date::res_type.eq(res_type),
                idx_date::param.eq(&r.param),
                idx_date::low.eq(r.low),
                idx_date::high.eq(r.high),
            )
        })
        .collect();
    insert_rows!(conn, idx_date::table, v);
    let v: Vec<_> = rows
        .references
        .iter()
        .map(|r| {
            (
                idx_reference::res_seq.eq(seq),
                idx_reference::res_type.eq(res_type),
                idx_reference::param.eq(&r.param),
                idx_reference::target_type.eq(&r.target_type),
                idx_reference::target_id.eq(&r.target_id),
                idx_reference::url.eq(&r.url),
            )
        })
        .collect();
    insert_rows!(conn, idx_reference::table, v);
    let v: Vec<_> = rows
        .quantities
        .iter()
        .map(|r| {
            (
                idx_quantity::res_seq.eq(seq),
                idx_quantity::res_type.eq(res_type),
                idx_quantity::param.eq(&r.param),
                idx_quantity::value.eq(&r.value),
                idx_quantity::num.eq(r.num),
                idx_quantity::system.eq(&r.system),
                idx_quantity::code.eq(&r.code),
                idx_quantity::unit.eq(&r.unit),
            )
        })
        .collect();
    insert_rows!(conn, idx_quantity::table, v);
    let v: Vec<_> = rows
        .numbers
        .iter()
        .map(|r| {
            (
                idx_number::res_seq.eq(seq),
                idx_number::res_type.eq(res_type),
                idx_number::param.eq(&r.param),
                idx_number::value.eq(&r.value),
                idx_number::num.eq(r.num),
            )
        })
        .collect();
    insert_rows!(conn, idx_number::table, v);
    let v: Vec<_> = rows
        .uris
        .iter()
        .map(|r| {
            (
                idx_uri::res_seq.eq(seq),
                idx_uri::res_type.eq(res_type),
                idx_uri::param.eq(&r.param),
                idx_uri::value.eq(&r.value),
            )
        })
        .collect();
    insert_rows!(conn, idx_uri::table, v);
    Ok(())
}
