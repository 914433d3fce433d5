//! The clinic every patient visits: one Bundle with the Organization, its two Locations, four
//! Practitioners and their PractitionerRoles, and the references the patients' resources make to them.

use serde_json::{json, Value};

use super::json::{cc, res, rfd, tho, transaction};
use super::tables::{Clinician, CLINICIANS};
use super::{CLINIC, LAB, NPI_SYSTEM, ORG, SCT};

/// The clinic's primary care Location.
pub(super) fn clinic_ref() -> Value {
    rfd("Location", CLINIC, "Bedside Demo Clinic - Primary Care")
}

/// The clinic's laboratory Location.
pub(super) fn lab_ref() -> Value {
    rfd("Location", LAB, "Bedside Demo Clinic - Laboratory")
}

/// A 10-digit NPI: `base` (9 digits) plus the Luhn check digit computed over "80840" + `base`.
pub(super) fn npi(base: u64) -> String {
    let digits = format!("80840{base:09}");
    let doubled = |d: u32| if d * 2 > 9 { d * 2 - 9 } else { d * 2 };
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| if i % 2 == 0 { doubled(u32::from(b - b'0')) } else { u32::from(b - b'0') })
        .sum();
    format!("{base:09}{}", (10 - sum % 10) % 10)
}
pub(super) fn clinician(n: usize) -> &'static Clinician {
    &CLINICIANS[(n - 1) % CLINICIANS.len()]
}
pub(super) fn practitioner_ref(n: usize) -> Value {
    let c = clinician(n);
    rfd("Practitioner", &format!("demo-practitioner-{n}"), &format!("{} {}, {}", c.given, c.family, c.suffix))
}
pub(super) fn org_ref() -> Value {
    rfd("Organization", ORG, "Bedside Demo Clinic")
}
fn clinic_address(line: &str) -> Value {
    json!({"use": "work", "type": "physical", "line": [line], "city": "Boston", "state": "MA",
           "postalCode": "02118", "country": "US"})
}
#[rustfmt::skip]
pub(super) fn shared_bundle() -> Value {
    let phone = |v: &str| json!({"system": "phone", "value": v, "use": "work"});
    let clinic = clinic_ref();
    let mut out = vec![
        res("Organization", ORG, json!({
            "identifier": [{"system": NPI_SYSTEM, "value": npi(199_000_410)}], "active": true,
            "type": [tho("organization-type", "prov", "Healthcare Provider")], "name": "Bedside Demo Clinic",
            "telecom": [phone("(617) 555-0100"), {"system": "email", "value": "frontdesk@bedside.example", "use": "work"}],
            "address": [clinic_address("250 Harrison Avenue")]})),
        res("Location", CLINIC, json!({
            "status": "active", "name": "Bedside Demo Clinic - Primary Care", "mode": "instance",
            "type": [tho("v3-RoleCode", "FMC", "Family Medicine Clinic")], "telecom": [phone("(617) 555-0100")],
            "address": clinic_address("250 Harrison Avenue"), "physicalType": tho("location-physical-type", "bu", "Building"),
            "managingOrganization": org_ref()})),
        res("Location", LAB, json!({
            "status": "active", "name": "Bedside Demo Clinic - Laboratory", "mode": "instance",
            "type": [tho("v3-RoleCode", "MBL", "medical laboratory")], "telecom": [phone("(617) 555-0109")],
            "address": clinic_address("250 Harrison Avenue, Suite 110"), "physicalType": tho("location-physical-type", "ro", "Room"),
            "managingOrganization": org_ref(), "partOf": clinic})),
    ];
    for (i, c) in CLINICIANS.iter().enumerate() {
        let n = i + 1;
        let mut name = json!({"use": "official", "family": c.family, "given": [c.given], "suffix": [c.suffix]});
        if let Some(p) = c.prefix {
            name["prefix"] = json!([p]);
        }
        let email = format!("{}.{}@bedside.example", c.given, c.family).to_lowercase();
        out.push(res("Practitioner", &format!("demo-practitioner-{n}"), json!({
            "identifier": [{"system": NPI_SYSTEM, "value": npi(123_456_700 + n as u64 * 11)}], "active": true, "name": [name],
            "telecom": [phone(&format!("(617) 555-01{:02}", 10 + n)), {"system": "email", "value": email, "use": "work"}],
            "address": [clinic_address("250 Harrison Avenue")], "gender": c.gender,
            "qualification": [{"code": tho("v2-0360|2.7", c.degree.0, c.degree.1),
                               "issuer": {"display": "Massachusetts Board of Registration in Medicine"}}]})));
    }
    for (i, c) in CLINICIANS.iter().enumerate() {
        let n = i + 1;
        out.push(res("PractitionerRole", &format!("demo-practitionerrole-{n}"), json!({
            "active": true, "practitioner": practitioner_ref(n), "organization": org_ref(),
            "code": [cc("http://nucc.org/provider-taxonomy", c.taxonomy.0, c.taxonomy.1)],
            "specialty": [cc(SCT, c.specialty.0, c.specialty.1)], "location": [clinic],
            "telecom": [phone(&format!("(617) 555-01{:02}", 10 + n))]})));
    }
    transaction(out)
}
