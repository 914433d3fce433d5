//! The Patient compartment (from the official CompartmentDefinition, through the registry).

use super::search::registry::Registry;

/// Can resources of this type belong to a patient's compartment? (Patient itself does.)
pub fn is_compartment_type(res_type: &str) -> bool {
    res_type == "Patient" || !Registry::global().patient_compartment_params(res_type).is_empty()
}
