"""Errors are OperationOutcomes (valid R4) with the right status, and nothing is stored on error."""

from __future__ import annotations

import pytest
from fhirpy.base.exceptions import OperationOutcome as FhirpyOperationOutcome

from helpers import FHIR_JSON, unique, validate, validate_outcome


def _invalid_bodies(marker: str):
    ident = [{"system": "urn:bedside-conformance", "value": marker}]
    return {
        "bad-code": {"resourceType": "Patient", "identifier": ident, "gender": "banana"},
        "unknown-element": {"resourceType": "Patient", "identifier": ident, "nickname": "Bob"},
        "bad-date": {"resourceType": "Patient", "identifier": ident, "birthDate": "1980-13-45"},
        "wrong-json-type": {"resourceType": "Patient", "identifier": ident, "active": "yes"},
        "empty-string": {"resourceType": "Patient", "identifier": ident, "name": [{"family": ""}]},
        "missing-required": {"resourceType": "Observation", "identifier": ident, "status": "final"},
    }


@pytest.mark.parametrize("case", list(_invalid_bodies("x")))
def test_invalid_resource_is_400_and_not_stored(sys_api, case):
    marker = unique("invalid-")
    body = _invalid_bodies(marker)[case]
    oo = validate_outcome(sys_api.post(body["resourceType"], body), 400)
    assert oo.issue[0].code in ("invalid", "structure", "value", "required"), oo.issue[0].code
    assert sys_api.total(f"{body['resourceType']}?identifier=urn:bedside-conformance|{marker}") == 0


def test_invalid_resource_through_fhirpy(fhirpy_sys):
    with pytest.raises(FhirpyOperationOutcome) as exc:
        fhirpy_sys.resource("Patient", gender="banana").save()
    oo = validate(exc.value.resource, "OperationOutcome")
    assert oo.issue[0].severity == "error"
    assert "gender" in (oo.issue[0].diagnostics or "") + " ".join(oo.issue[0].expression or [])


def test_unknown_or_malformed_search_parameter_is_400(fhirpy_sys, sys_api):
    with pytest.raises(FhirpyOperationOutcome) as exc:
        fhirpy_sys.resources("Observation").search(colour="blue").fetch()
    validate(exc.value.resource, "OperationOutcome")
    validate_outcome(sys_api.get("Observation?colour=blue"), 400)
    validate_outcome(sys_api.get("Observation?date=yesterday"), 400)
    validate_outcome(sys_api.get("Observation?code:fuzzy=1234"), 400)
    validate_outcome(sys_api.get("Observation?_sort=colour"), 400)


def test_protocol_errors(sys_api):
    validate_outcome(sys_api.get(f"Unicorn/{unique('u')}"), 404)
    validate_outcome(sys_api.get(f"Patient/{unique('missing-')}"), 404)
    validate_outcome(
        sys_api.request("POST", "Patient", data="{not json", headers={"Content-Type": FHIR_JSON}), 400
    )
    validate_outcome(
        sys_api.request("POST", "Patient", data="hello", headers={"Content-Type": "text/plain"}), 415
    )
    validate_outcome(sys_api.get("Patient/demo-patient-01", headers={"Accept": "text/html"}), 406)
    validate_outcome(sys_api.post("Observation", {"resourceType": "Patient"}), 400)  # type mismatch
