//! Small named values about the server itself (e.g. whether the demo data set was seeded).

use diesel::prelude::*;

use super::schema::{resources, server_meta};
use super::{AnyConnection, StoreResult};

pub fn get(conn: &mut AnyConnection, name: &str) -> StoreResult<Option<String>> {
    Ok(server_meta::table
        .filter(server_meta::name.eq(name))
        .select(server_meta::value)
        .first::<String>(conn)
        .optional()?)
}

pub fn set(conn: &mut AnyConnection, name: &str, value: &str) -> StoreResult<()> {
    let n = diesel::update(server_meta::table.filter(server_meta::name.eq(name)))
        .set(server_meta::value.eq(value))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(server_meta::table)
            .values((server_meta::name.eq(name), server_meta::value.eq(value)))
            .execute(conn)?;
    }
    Ok(())
}

/// How many current (not deleted) resources the database holds (a size, no resource data).
pub fn resource_count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(resources::table.filter(resources::deleted.eq(false)).count().get_result(conn)?)
}
