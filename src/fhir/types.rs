//! The resource types Bedside serves: every concrete R4 resource type except `Parameters` (an operation's
//! input or output, never stored). The list is generated from the official R4 StructureDefinitions by
//! `tools/gen_types.py` into `types/generated.rs`; it is the only list of type names in the code.

mod generated;
pub mod references;

pub use generated::{OPERATION_PAYLOAD_TYPES, SUPPORTED_TYPES};

/// Is `name` a resource type this server serves?
pub fn is_supported(name: &str) -> bool {
    SUPPORTED_TYPES.binary_search(&name).is_ok()
}

/// Is `name` an R4 resource type (served, or an operation payload such as `Parameters`)? Used to
/// recognise `Type/id` in references.
pub fn is_r4_type(name: &str) -> bool {
    is_supported(name) || OPERATION_PAYLOAD_TYPES.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_list() {
        assert!(SUPPORTED_TYPES.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        assert_eq!(SUPPORTED_TYPES.len(), 145);
        for t in ["Patient", "MedicationAdministration", "SupplyDelivery", "Library", "Bundle", "Binary"] {
            assert!(is_supported(t), "{t}");
        }
        assert!(!is_supported("Parameters"));
        assert!(is_r4_type("Parameters"));
        assert!(!is_r4_type("SubscriptionStatus"), "R4B, not R4");
        assert!(!is_r4_type("patient"));
    }
}
