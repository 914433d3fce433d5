"""A `patient/*.read` token bound to demo-patient-01: its compartment only, no writes; and no token at all."""

from __future__ import annotations

import asyncio

import pytest
from fhirpy.base.exceptions import AuthorizationError, ForbiddenError, ResourceNotFound

from helpers import entries, validate, validate_bundle, validate_outcome


def test_other_patient_is_not_found(fhirpy_pat, pat_api, patient_id, other_patient_id):
    assert validate(fhirpy_pat.reference("Patient", patient_id).to_resource(), "Patient").id == patient_id
    with pytest.raises(ResourceNotFound):
        fhirpy_pat.reference("Patient", other_patient_id).to_resource()
    validate_outcome(pat_api.get(f"Patient/{other_patient_id}"), 404)
    # another patient's Observation is just as unknown as a missing one
    other_obs = entries(pat_api.get_json(f"Observation?patient={other_patient_id}"))
    assert other_obs == []


def test_observation_search_without_patient_is_the_compartment(fhirpy_pat, sys_api, patient_id):
    seen = list(fhirpy_pat.resources("Observation").limit(20))
    assert len(seen) == sys_api.total(f"Observation?patient={patient_id}")
    for page in fhirpy_pat.pages:
        validate_bundle(page, "searchset")
        assert page["total"] == len(seen)
    for obs in seen:
        assert obs["subject"]["reference"] == f"Patient/{patient_id}", obs.id
    patients = list(fhirpy_pat.resources("Patient").limit(50))
    assert [p.id for p in patients] == [patient_id]


def test_includes_stay_inside_the_compartment(pat_api, patient_id):
    bundle = pat_api.get_json("Observation?_include=Observation:subject&_count=10")
    validate_bundle(bundle, "searchset")
    included = entries(bundle, "include")
    assert [f"{r['resourceType']}/{r['id']}" for r in included] == [f"Patient/{patient_id}"]
    rev = pat_api.get_json("Patient?_revinclude=Observation:subject&_count=10")
    assert {r["subject"]["reference"] for r in entries(rev, "include")} == {f"Patient/{patient_id}"}


def test_patient_token_cannot_write(fhirpy_pat, pat_api, patient_id):
    with pytest.raises(ForbiddenError):
        fhirpy_pat.resource("Patient", name=[{"family": "Intruder"}]).save()
    validate_outcome(pat_api.post("Patient", {"resourceType": "Patient"}), 403)
    own = pat_api.get_json(f"Patient/{patient_id}")
    validate_outcome(pat_api.put(f"Patient/{patient_id}", own), 403)
    validate_outcome(pat_api.delete(f"Patient/{patient_id}"), 403)
    assert pat_api.get_json(f"Patient/{patient_id}")["meta"]["versionId"] == own["meta"]["versionId"]


def test_missing_or_tampered_token_is_401(anon_api, fhir_base, patient_token, async_client_factory, patient_id):
    r = anon_api.get(f"Patient/{patient_id}")
    oo = validate_outcome(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer"), r.headers
    assert oo.issue[0].code in ("login", "security")

    header, payload, sig = patient_token.split(".")
    tampered = f"{header}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"

    async def run():
        with pytest.raises(AuthorizationError):
            await async_client_factory(None).reference("Patient", patient_id).to_resource()
        with pytest.raises(AuthorizationError):
            await async_client_factory(tampered).reference("Patient", patient_id).to_resource()

    asyncio.run(run())
