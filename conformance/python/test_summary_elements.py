"""_summary and _elements: subsets must still be valid for strict R4 models (fhir.resources, fhirclient)."""

from __future__ import annotations

import pytest
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.observation import Observation as FcObservation

from helpers import entries, validate, validate_bundle

SUBSETTED = ("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "SUBSETTED")

# type -> (query that finds demo-patient-01's resources, top-level elements with min >= 1 in R4)
MANDATORY = {
    "Observation": ("Observation?patient={pid}", {"status", "code"}),
    "CarePlan": ("CarePlan?patient={pid}", {"status", "intent", "subject"}),
    "Appointment": ("Appointment?patient={pid}", {"status", "participant"}),
    "Patient": ("Patient?_id={pid}", set()),
}


def _tags(resource: dict) -> set[tuple[str, str]]:
    return {(t.get("system"), t.get("code")) for t in resource.get("meta", {}).get("tag", [])}


@pytest.mark.parametrize("summary", ["true", "data"])
@pytest.mark.parametrize("rtype", list(MANDATORY))
def test_summary_results_are_valid_and_marked(sys_api, patient_id, rtype, summary):
    query, mandatory = MANDATORY[rtype]
    bundle = sys_api.get_json(query.format(pid=patient_id) + f"&_summary={summary}&_count=5")
    validate_bundle(bundle, "searchset")  # mandatory elements are all summary elements in R4
    found = entries(bundle, "match")
    assert found
    for r in found:
        assert SUBSETTED in _tags(r), r["id"]
        assert mandatory <= set(r), f"{rtype}/{r['id']} lacks {mandatory - set(r)}"
        if summary == "data":
            assert "text" not in r


def test_summary_count_has_no_entries(sys_api, patient_id):
    bundle = sys_api.get_json(f"Observation?patient={patient_id}&_summary=count")
    validate_bundle(bundle, "searchset")
    assert bundle["total"] > 0 and "entry" not in bundle


def test_elements_returns_what_was_asked(sys_api, patient_id):
    bundle = sys_api.get_json(f"Observation?patient={patient_id}&_elements=status,code,subject&_count=5")
    validate_bundle(bundle, "searchset")
    for r in entries(bundle, "match"):
        assert set(r) <= {"resourceType", "id", "meta", "status", "code", "subject"}, sorted(r)
        assert {"status", "code", "subject"} <= set(r)
        assert SUBSETTED in _tags(r)


@pytest.mark.parametrize("rtype", ["Observation", "CarePlan", "Appointment"])
def test_summary_text_keeps_mandatory_elements(sys_api, patient_id, rtype):
    query, mandatory = MANDATORY[rtype]
    bundle = sys_api.get_json(query.format(pid=patient_id) + "&_summary=text&_count=5")
    for r in entries(bundle, "match"):
        assert mandatory <= set(r), f"{rtype}/{r['id']} lacks {mandatory - set(r)}"
        validate(r, rtype)


def test_elements_keeps_mandatory_elements_for_strict_clients(fhirclient_factory, patient_token, patient_id):
    srv = fhirclient_factory(patient_token)
    search = FcObservation.where(struct={"patient": patient_id, "_elements": "status", "_count": "5"})
    try:
        found = list(search.perform_resources_iter(srv))
    except FHIRValidationError as e:
        pytest.fail(f"fhirclient cannot parse the _elements page: {str(e)[:300]}")
    assert found
    for obs in found:
        validate(obs.as_json(), "Observation")
