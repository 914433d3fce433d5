//! Turns a resource into the index rows the store writes with it, using the search-parameter registry.

use serde_json::Value;

use super::search::extract::{self, IndexEntry};
use crate::store::index::{DateRow, IndexRows, NumberRow, QuantityRow, ReferenceRow, StringRow, TokenRow, UriRow};

fn decimal(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Everything the resource contributes to search and to patient compartments.
pub fn index_rows(resource: &Value) -> IndexRows {
    let mut rows = IndexRows { compartment: extract::compartment_patients(resource), ..Default::default() };
    for entry in extract::extract(resource) {
        match entry {
            IndexEntry::String { param, value, norm } => rows.strings.push(StringRow { param, value, norm }),
            IndexEntry::Token { param, system, code, text } => rows.tokens.push(TokenRow { param, system, code, text }),
            IndexEntry::Date { param, low, high } => rows.dates.push(DateRow { param, low, high }),
            IndexEntry::Reference { param, target_type, target_id, url } => {
                rows.references.push(ReferenceRow { param, target_type, target_id, url })
            }
            IndexEntry::Quantity { param, value, system, code, unit } => {
                if let Some(num) = decimal(&value) {
                    rows.quantities.push(QuantityRow { param, value, num, system, code, unit })
                }
            }
            IndexEntry::Number { param, value } => {
                if let Some(num) = decimal(&value) {
                    rows.numbers.push(NumberRow { param, value, num })
                }
            }
            IndexEntry::Uri { param, value } => rows.uris.push(UriRow { param, value }),
        }
    }
    rows
}
