"""Patient/$everything through fhirpy's operation call, with the patient token, followed over every page."""

from __future__ import annotations

from helpers import entries, link, validate, validate_bundle


def test_patient_everything(fhirpy_pat, pat_api, sys_api, patient_id, other_patient_id):
    first = fhirpy_pat.reference("Patient", patient_id).execute("$everything", method="get", params={"_count": 40})
    pages = [first]
    nxt = link(first, "next")
    while nxt:
        assert len(pages) < 100
        page = pat_api.get_json(nxt)
        pages.append(page)
        nxt = link(page, "next")
    found: dict[str, dict] = {}
    matches = 0
    for page in pages:
        validate_bundle(page, "searchset")
        assert page["total"] == first["total"]
        for r in entries(page, "match"):  # the compartment: each resource once
            ref = f"{r['resourceType']}/{r['id']}"
            assert ref not in found, f"{ref} on two pages"
            found[ref] = r
            matches += 1
        for r in entries(page, "include"):  # shared resources, like _include, may repeat per page
            found[f"{r['resourceType']}/{r['id']}"] = r
    assert matches == first["total"]
    assert len(pages) > 1
    assert f"Patient/{patient_id}" in found
    assert f"Patient/{other_patient_id}" not in found
    # the compartment is all there
    for rtype in ("Observation", "Appointment", "CarePlan", "Goal", "Condition", "Encounter"):
        have = {ref for ref in found if ref.startswith(f"{rtype}/")}
        assert len(have) == sys_api.total(f"{rtype}?patient={patient_id}"), rtype
    # and the shared resources it points to
    careplan = validate(found["CarePlan/demo-p01-careplan"], "CarePlan")
    assert careplan.subject.reference == f"Patient/{patient_id}"
    patient = found[f"Patient/{patient_id}"]
    for ref in [patient["managingOrganization"]["reference"]] + [p["reference"] for p in patient["generalPractitioner"]]:
        assert ref in found, f"{ref} (referenced by the Patient) is missing"
