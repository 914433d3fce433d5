"""XML (application/fhir+xml), parsed with fhir.resources' XML support (lxml) and compared with JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.patient import Patient

from helpers import FHIR_XML, unique, validate

NS = "{http://hl7.org/fhir}"


def _as_bytes(x) -> bytes:
    return x.encode("utf-8") if isinstance(x, str) else x


@pytest.mark.parametrize(
    "path",
    ["Patient/demo-patient-01", "Observation/demo-p01-obs-001", "CarePlan/demo-p01-careplan",
     "Appointment/demo-p01-appt-07"],
)
def test_xml_read_equals_json_read(sys_api, path):
    js = sys_api.get_json(path)
    r = sys_api.get(f"{path}?_format=xml")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"].startswith(FHIR_XML)
    assert r.headers["ETag"] == f'W/"{js["meta"]["versionId"]}"'

    root = ET.fromstring(r.content)
    assert root.tag == NS + js["resourceType"]
    assert root.find(f"{NS}id").get("value") == js["id"]

    model_cls = type(validate(js))
    from_xml = model_cls.parse_raw(r.content, content_type="application/xml")
    from_json = model_cls.parse_obj(js)
    assert from_xml.dict() == from_json.dict()


def test_xml_search_bundle_by_accept_header(sys_api, patient_id):
    js = sys_api.get_json(f"Observation?patient={patient_id}&category=vital-signs&_count=5")
    r = sys_api.get(
        f"Observation?patient={patient_id}&category=vital-signs&_count=5", headers={"Accept": FHIR_XML}
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith(FHIR_XML)
    bundle = Bundle.parse_raw(r.content, content_type="application/xml")
    assert bundle.type == "searchset"
    assert bundle.total == js["total"]
    assert [e.resource.id for e in bundle.entry] == [e["resource"]["id"] for e in js["entry"]]
    next_xml = [lk.url for lk in bundle.link if lk.relation == "next"]
    assert next_xml and "_cursor=" in next_xml[0]


def test_create_from_xml(sys_api):
    family = unique("Xml")
    model = Patient.parse_obj({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:bedside-conformance", "value": family}],
        "name": [{"family": family, "given": ["Émile", "Zoë"]}],
        "gender": "male",
        "birthDate": "1990-12-31",
        "active": False,
    })
    r = sys_api.request(
        "POST", "Patient", data=_as_bytes(model.xml()),
        headers={"Content-Type": FHIR_XML, "Accept": FHIR_XML},
    )
    assert r.status_code == 201, r.text[:800]
    assert r.headers["Content-Type"].startswith(FHIR_XML)
    created = Patient.parse_raw(r.content, content_type="application/xml")
    stored = validate(sys_api.get_json(f"Patient/{created.id}"), "Patient")
    assert stored.name[0].given == ["Émile", "Zoë"]
    assert stored.birthDate.isoformat() == "1990-12-31"
    assert stored.active is False
    # string search is accent- and case-insensitive
    assert sys_api.total(f"Patient?given=EMILE&family={family}") == 1
