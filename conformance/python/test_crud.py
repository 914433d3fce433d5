"""Create / read / update / delete / history with the system token, through fhirpy and raw HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest
from fhirpy.base.exceptions import MultipleResourcesFound, ResourceNotFound

from helpers import FHIR_JSON, entries, unique, validate, validate_bundle, validate_outcome


def _patient_body(family: str) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:bedside-conformance", "value": family}],
        "name": [{"use": "official", "family": family, "given": ["Ada"]}],
        "gender": "female",
        "birthDate": "1984-03-07",
    }


def test_fhirpy_crud_lifecycle(fhirpy_sys, sys_api):
    family = unique("Crud")
    patient = fhirpy_sys.resource("Patient", **_patient_body(family))
    patient.save()  # POST
    assert patient.id
    created = validate(patient, "Patient")
    assert created.meta.versionId == "1"

    read = fhirpy_sys.reference("Patient", patient.id).to_resource()
    assert read.serialize() == patient.serialize()
    r = sys_api.get(f"Patient/{patient.id}")
    assert r.headers["ETag"] == 'W/"1"'
    assert r.headers.get("Last-Modified")

    read["name"][0]["given"] = ["Ada", "Maria"]
    read["active"] = True
    read.save()  # PUT
    assert read["meta"]["versionId"] == "2"
    assert sys_api.get(f"Patient/{patient.id}").headers["ETag"] == 'W/"2"'
    current = validate(fhirpy_sys.reference("Patient", patient.id).to_resource(), "Patient")
    assert current.name[0].given == ["Ada", "Maria"] and current.active is True

    v1 = validate(sys_api.get_json(f"Patient/{patient.id}/_history/1"), "Patient")
    assert v1.name[0].given == ["Ada"] and v1.active is None

    read.delete()
    with pytest.raises(ResourceNotFound):
        fhirpy_sys.reference("Patient", patient.id).to_resource()
    validate_outcome(sys_api.get(f"Patient/{patient.id}"), 410)
    assert sys_api.total(f"Patient?identifier=urn:bedside-conformance|{family}") == 0

    history = sys_api.get_json(f"Patient/{patient.id}/_history")
    validate_bundle(history, "history")
    methods = [e["request"]["method"] for e in history["entry"]]
    assert methods == ["DELETE", "PUT", "POST"], methods
    assert [e.get("resource", {}).get("meta", {}).get("versionId") for e in history["entry"][1:]] == ["2", "1"]
    assert "resource" not in history["entry"][0]


def test_async_crud_with_observation(async_client_factory, system_token, sys_api):
    async def run():
        client = async_client_factory(system_token)
        patient = client.resource("Patient", **_patient_body(unique("Async")))
        await patient.save()
        obs = client.resource(
            "Observation",
            status="preliminary",
            category=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                   "code": "vital-signs"}]}],
            code={"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
            subject=patient,  # fhirpy turns a resource into a reference
            effectiveDateTime="2025-04-01T08:30:00+02:00",
            valueQuantity={"value": 64, "unit": "beats/minute", "system": "http://unitsofmeasure.org",
                           "code": "/min"},
        )
        await obs.save()
        obs["status"] = "final"
        await obs.save()
        found = await client.resources("Observation").search(subject=f"Patient/{patient.id}").fetch_all()
        snapshot = obs.serialize()
        await obs.delete()
        gone = await client.resources("Observation").search(subject=f"Patient/{patient.id}").fetch_all()
        return patient, snapshot, found, gone

    patient, obs, found, gone = asyncio.run(run())
    assert validate(obs, "Observation").subject.reference == f"Patient/{patient.id}"
    assert obs["meta"]["versionId"] == "2" and obs["status"] == "final"
    assert [o.id for o in found] == [obs["id"]]
    assert found[0].serialize() == obs
    assert gone == []
    validate_outcome(sys_api.get(f"Observation/{obs['id']}"), 410)


def test_put_creates_with_client_assigned_id(fhirpy_sys, sys_api):
    pid = unique("conf-")
    patient = fhirpy_sys.resource("Patient", id=pid, **_patient_body(unique("Put")))
    patient.save()  # PUT Patient/<id> on a new id: update-as-create
    assert patient.id == pid and patient["meta"]["versionId"] == "1"
    r = sys_api.put(f"Patient/{pid}", {**_patient_body("Again"), "id": pid})
    assert r.status_code == 200 and r.json()["meta"]["versionId"] == "2"
    r = sys_api.put(f"Patient/{unique('conf-')}", {**_patient_body("New"), "id": unique("other-")})
    validate_outcome(r, 400)  # the body's id must match the URL's


def test_etag_preconditions(fhirpy_sys, sys_api):
    patient = fhirpy_sys.resource("Patient", **_patient_body(unique("Etag")))
    patient.save()
    path = f"Patient/{patient.id}"

    r = sys_api.get(path, headers={"If-None-Match": 'W/"1"'})
    assert r.status_code == 304 and not r.content

    body = patient.serialize()
    body["gender"] = "other"
    r = sys_api.put(path, body, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"2"'
    assert sys_api.get(path, headers={"If-None-Match": 'W/"1"'}).status_code == 200

    stale = sys_api.put(path, body, headers={"If-Match": 'W/"1"'})
    validate_outcome(stale, 412)
    with pytest.raises(MultipleResourcesFound):  # fhirpy maps any 412 to this exception
        fhirpy_sys._do_request("put", path, data=body, extra_headers={"If-Match": 'W/"1"'})
    assert sys_api.get_json(path)["meta"]["versionId"] == "2", "a failed precondition stored something"


def test_conditional_create_if_none_exist(sys_api):
    value = unique("cond-")
    body = _patient_body(value)
    hdr = {"If-None-Exist": f"identifier=urn:bedside-conformance|{value}"}

    first = sys_api.post("Patient", body, headers=hdr)
    assert first.status_code == 201, first.text[:500]
    second = sys_api.post("Patient", body, headers=hdr)
    assert second.status_code == 200, second.text[:500]
    assert validate(second.json(), "Patient").id == first.json()["id"]
    assert sys_api.total(f"Patient?identifier=urn:bedside-conformance|{value}") == 1

    # two matches: 412, nothing stored
    dup = unique("dup-")
    for _ in range(2):
        sys_api.create(_patient_body(dup))
    r = sys_api.post("Patient", _patient_body(dup), headers={"If-None-Exist": f"identifier=urn:bedside-conformance|{dup}"})
    validate_outcome(r, 412)
    assert sys_api.total(f"Patient?identifier=urn:bedside-conformance|{dup}") == 2


def test_json_patch(sys_api):
    created = sys_api.create(_patient_body(unique("Patch")))
    ops = [
        {"op": "replace", "path": "/gender", "value": "male"},
        {"op": "add", "path": "/name/0/given/-", "value": "Lovelace"},
    ]
    r = sys_api.request(
        "PATCH", f"Patient/{created['id']}", data=json.dumps(ops),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 200, r.text[:500]
    patched = validate(r.json(), "Patient")
    assert patched.gender == "male" and patched.name[0].given == ["Ada", "Lovelace"]
    assert patched.meta.versionId == "2"
    bad = sys_api.request(
        "PATCH", f"Patient/{created['id']}", data=json.dumps([{"op": "replace", "path": "/gender", "value": "x"}]),
        headers={"Content-Type": "application/json-patch+json"},
    )
    validate_outcome(bad, 400)  # the patched resource is validated too
    assert sys_api.get_json(f"Patient/{created['id']}")["gender"] == "male"


def test_decimal_precision_is_kept(sys_api):
    patient = sys_api.create(_patient_body(unique("Dec")))
    text = (
        '{"resourceType":"Observation","status":"final",'
        '"code":{"coding":[{"system":"http://loinc.org","code":"2160-0"}]},'
        f'"subject":{{"reference":"Patient/{patient["id"]}"}},'
        '"valueQuantity":{"value":1.50,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"}}'
    )
    r = sys_api.request("POST", "Observation", data=text, headers={"Content-Type": FHIR_JSON})
    assert r.status_code == 201, r.text[:500]
    read = sys_api.get(f"Observation/{r.json()['id']}")
    assert '"value":1.50' in read.text.replace(" ", ""), read.text
    validate(read.json(), "Observation")
    hits = sys_api.get_json(f"Observation?subject=Patient/{patient['id']}&value-quantity=1.5")
    assert [o["id"] for o in entries(hits)] == [r.json()["id"]]


def test_instance_history_pages(sys_api):
    created = sys_api.create(_patient_body(unique("Hist")))
    path = f"Patient/{created['id']}"
    body = dict(created)
    for gender in ("male", "other"):
        body["gender"] = gender
        r = sys_api.put(path, body)
        assert r.status_code == 200
    versions = []
    url = f"{path}/_history?_count=1"
    while url:
        page = sys_api.get_json(url)
        validate_bundle(page, "history")
        assert len(page.get("entry", [])) <= 1
        versions += [e["resource"]["meta"]["versionId"] for e in page.get("entry", [])]
        url = next((lk["url"] for lk in page.get("link", []) if lk["relation"] == "next"), None)
        assert len(versions) < 10
    assert versions == ["3", "2", "1"]
    assert sys_api.get_json(f"{path}/_history/2")["gender"] == "male"


def test_fhirpy_conditional_update(fhirpy_sys, sys_api):
    value = unique("cu-")
    ident = f"urn:bedside-conformance|{value}"
    first, created = fhirpy_sys.resources("Patient").search(identifier=ident).update(
        fhirpy_sys.resource("Patient", **{**_patient_body(value), "gender": "male"})
    )  # PUT Patient?identifier=...: no match, so it creates
    assert created is True
    second, created = fhirpy_sys.resources("Patient").search(identifier=ident).update(
        fhirpy_sys.resource("Patient", **{**_patient_body(value), "gender": "female"})
    )
    assert created is False
    assert second.id == first.id and second["meta"]["versionId"] == "2"
    assert validate(sys_api.get_json(f"Patient/{first.id}"), "Patient").gender == "female"
    assert sys_api.total(f"Patient?identifier={ident}") == 1
