"""Transaction and batch Bundles posted to the base URL."""

from __future__ import annotations

import uuid

from helpers import unique, validate, validate_bundle, validate_outcome

LOINC_HR = {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]}


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _tx(family: str, patient_urn: str) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_urn,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:bedside-conformance", "value": family}],
                    "name": [{"family": family}],
                },
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier=urn:bedside-conformance|{family}",
                },
            },
            {
                "fullUrl": _urn(),
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": LOINC_HR,
                    "subject": {"reference": patient_urn},
                    "effectiveDateTime": "2025-01-02T03:04:05Z",
                    "valueQuantity": {"value": 71, "unit": "/min", "system": "http://unitsofmeasure.org",
                                      "code": "/min"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }


def test_transaction_rewrites_urn_uuid_references(sys_api, fhir_base):
    family = unique("Tx")
    r = sys_api.post("", _tx(family, _urn()))
    assert r.status_code == 200, r.text[:800]
    resp = r.json()
    validate_bundle(resp, "transaction-response")
    assert len(resp["entry"]) == 2
    pat_entry, obs_entry = resp["entry"]
    assert pat_entry["response"]["status"].startswith("201")
    assert obs_entry["response"]["status"].startswith("201")
    pid = pat_entry["resource"]["id"]
    assert pat_entry["fullUrl"] == f"{fhir_base}/Patient/{pid}"
    assert pat_entry["response"]["location"].startswith(f"{fhir_base}/Patient/{pid}/_history/")
    assert obs_entry["resource"]["subject"]["reference"] == f"Patient/{pid}"

    stored = validate(sys_api.get_json(f"Observation/{obs_entry['resource']['id']}"), "Observation")
    assert stored.subject.reference == f"Patient/{pid}"
    assert sys_api.total(f"Observation?patient={pid}") == 1

    # Again: ifNoneExist matches the stored Patient, and the new urn resolves to it.
    r2 = sys_api.post("", _tx(family, _urn()))
    assert r2.status_code == 200, r2.text[:800]
    resp2 = r2.json()
    validate_bundle(resp2, "transaction-response")
    assert resp2["entry"][0]["response"]["status"].startswith("200")
    assert resp2["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{pid}"
    assert sys_api.total(f"Patient?identifier=urn:bedside-conformance|{family}") == 1
    assert sys_api.total(f"Observation?patient={pid}") == 2


def test_transaction_is_atomic(sys_api):
    family = unique("Atomic")
    bundle = _tx(family, _urn())
    bundle["entry"][1]["resource"]["status"] = "not-a-status"
    r = sys_api.post("", bundle)
    validate_outcome(r, 400)
    assert sys_api.total(f"Patient?identifier=urn:bedside-conformance|{family}") == 0, (
        "the valid Patient entry of a failed transaction was stored"
    )


def test_batch_reports_each_entry(sys_api):
    family = unique("Batch")
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "name": [{"family": family}],
                             "identifier": [{"system": "urn:bedside-conformance", "value": family}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {"resourceType": "Patient", "gender": "not-a-gender"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"request": {"method": "GET", "url": "Patient/demo-patient-01"}},
            {"request": {"method": "GET", "url": f"Patient/{unique('missing-')}"}},
        ],
    }
    r = sys_api.post("", bundle)
    assert r.status_code == 200, r.text[:800]
    resp = r.json()
    validate_bundle(resp, "batch-response")
    statuses = [e["response"]["status"].split()[0] for e in resp["entry"]]
    assert statuses == ["201", "400", "200", "404"], statuses
    # R4 leaves open where a failed batch entry's OperationOutcome goes (Bundle.entry.response.outcome's
    # comment says "in Bundle.entry.response"); accept response.outcome or entry.resource.
    failed = resp["entry"][1]
    outcome = failed["response"].get("outcome") or failed.get("resource")
    assert outcome is not None, failed
    assert "gender" in validate(outcome, "OperationOutcome").issue[0].diagnostics
    assert resp["entry"][2]["resource"]["id"] == "demo-patient-01"
    assert sys_api.total(f"Patient?identifier=urn:bedside-conformance|{family}") == 1


def test_transaction_resolves_conditional_references(sys_api):
    family = unique("CondRef")
    patient = sys_api.create({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:bedside-conformance", "value": family}],
    })

    def tx(criteria):
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{
                "fullUrl": _urn(),
                "resource": {"resourceType": "Observation", "status": "final", "code": LOINC_HR,
                             "subject": {"reference": f"Patient?{criteria}"}},
                "request": {"method": "POST", "url": "Observation"},
            }],
        }

    r = sys_api.post("", tx(f"identifier=urn:bedside-conformance|{family}"))
    assert r.status_code == 200, r.text[:500]
    validate_bundle(r.json(), "transaction-response")
    assert r.json()["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{patient['id']}"

    # a conditional reference that matches nothing fails the whole transaction
    r = sys_api.post("", tx(f"identifier=urn:bedside-conformance|{unique('nomatch-')}"))
    assert 400 <= r.status_code < 500
    validate(r.json(), "OperationOutcome")
    assert sys_api.total(f"Observation?patient={patient['id']}") == 1
