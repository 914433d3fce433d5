"""XML (application/fhir+xml), parsed with fhir.resources' XML support (lxml) and compared with JSON."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.patient import Patient

from helpers import FHIR_XML, unique, validate

NS = "{http://hl7.org/fhir}"
XHTML = "http://www.w3.org/1999/xhtml"

XML_DECL = re.compile(rb"^<\?xml[^>]*\?>")


def _as_bytes(x) -> bytes:
    return x.encode("utf-8") if isinstance(x, str) else x


def _without_declaration(body: bytes) -> bytes:
    """Works around the server rejecting lxml's `encoding='utf-8'` (see test_xml_declaration_*)."""
    return XML_DECL.sub(b"", body, count=1).lstrip()


BLOCK_TAGS = {"div", "p", "ul", "ol", "li", "table", "thead", "tbody", "tr", "td", "th", "br", "pre",
              "blockquote", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6"}


def _narrative_text(div: str) -> str:
    """What a reader sees: the XHTML's text, block elements separated, whitespace runs collapsed.

    Indentation added by a pretty-printer between block elements does not change it; a space lost between
    inline nodes (`<b>a</b> b` -> `<b>a</b>b`) does."""
    out: list[str] = []

    def walk(el):
        block = el.tag.rsplit("}", 1)[-1] in BLOCK_TAGS
        if block:
            out.append(" ")
        out.append(el.text or "")
        for child in el:
            walk(child)
        if block:
            out.append(" ")
        out.append(el.tail or "")

    walk(ET.fromstring(div))
    return " ".join("".join(out).split())


def _split_narrative(model) -> tuple[dict, str | None]:
    data = model.dict()
    div = None
    if data.get("text"):
        div = data["text"].pop("div", None)
    return data, div


def _read_both(sys_api, path):
    js = sys_api.get_json(path)
    r = sys_api.get(f"{path}?_format=xml")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"].startswith(FHIR_XML)
    model_cls = type(validate(js))
    from_xml = model_cls.parse_raw(r.content, content_type="application/xml")
    from_json = model_cls.parse_obj(js)
    return js, r, from_xml, from_json


READS = ["Patient/demo-patient-01", "Observation/demo-p01-obs-001", "CarePlan/demo-p01-careplan",
         "Appointment/demo-p01-appt-07"]


@pytest.mark.parametrize("path", READS)
def test_xml_read_equals_json_read(sys_api, path):
    js, r, from_xml, from_json = _read_both(sys_api, path)
    assert r.headers["ETag"] == f'W/"{js["meta"]["versionId"]}"'
    root = ET.fromstring(r.content)
    assert root.tag == NS + js["resourceType"]
    assert root.find(f"{NS}id").get("value") == js["id"]

    xml_data, xml_div = _split_narrative(from_xml)
    json_data, json_div = _split_narrative(from_json)
    assert xml_data == json_data  # every element but the narrative (see the next test)
    assert (xml_div is None) == (json_div is None)


def test_xml_narrative_text_equals_json(sys_api):
    _, _, from_xml, from_json = _read_both(sys_api, "CarePlan/demo-p01-careplan")
    assert _narrative_text(from_xml.text.div) == _narrative_text(from_json.text.div)


def test_xml_write_keeps_narrative_whitespace(sys_api):
    body = (
        '<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/>'
        f'<div xmlns="{XHTML}"><p><b>Bold</b> normal <i>it</i> end</p></div></text>'
        '<gender value="male"/></Patient>'
    )
    r = sys_api.request("POST", "Patient", data=body.encode(), headers={"Content-Type": FHIR_XML})
    assert r.status_code == 201, r.text[:500]
    stored = sys_api.get_json(f"Patient/{r.json()['id']}")
    assert _narrative_text(stored["text"]["div"]) == "Bold normal it end"


def test_xml_search_bundle_by_accept_header(sys_api, patient_id):
    query = f"Observation?patient={patient_id}&category=vital-signs&_count=5"
    js = sys_api.get_json(query)
    r = sys_api.get(query, headers={"Accept": FHIR_XML})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith(FHIR_XML)
    bundle = Bundle.parse_raw(r.content, content_type="application/xml")
    assert bundle.type == "searchset"
    assert bundle.total == js["total"]
    assert [e.resource.id for e in bundle.entry] == [e["resource"]["id"] for e in js["entry"]]
    for e, je in zip(bundle.entry, js["entry"]):
        assert e.resource.dict() == type(e.resource).parse_obj(je["resource"]).dict()
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
        "POST", "Patient", data=_without_declaration(_as_bytes(model.xml())),
        headers={"Content-Type": FHIR_XML, "Accept": FHIR_XML},
    )
    assert r.status_code == 201, r.text[:800]
    assert r.headers["Content-Type"].startswith(FHIR_XML)
    created = Patient.parse_raw(r.content, content_type="application/xml")
    stored = validate(sys_api.get_json(f"Patient/{created.id}"), "Patient")
    assert stored.name[0].given == ["Émile", "Zoë"]
    assert stored.birthDate.isoformat() == "1990-12-31"
    assert stored.active is False
    assert created.dict() == stored.dict()
    # string search is accent- and case-insensitive
    assert sys_api.total(f"Patient?given=EMILE&family={family}") == 1


def test_xml_declaration_encoding_is_case_insensitive(sys_api):
    model = Patient.parse_obj({"resourceType": "Patient", "gender": "female"})
    body = _as_bytes(model.xml())
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    r = sys_api.request("POST", "Patient", data=body, headers={"Content-Type": FHIR_XML})
    assert r.status_code == 201, r.text[:500]


JSON_CT, XML_CT = "application/fhir+json", "application/fhir+xml"


@pytest.mark.parametrize(
    "fmt, expected",
    [  # R4 http.html#mime-type: these _format values SHALL be understood
        ("json", JSON_CT), ("application/json", JSON_CT), ("application/fhir+json", JSON_CT),
        ("xml", XML_CT), ("text/xml", XML_CT), ("application/xml", XML_CT), ("application/fhir+xml", XML_CT),
    ],
)
def test_format_parameter_values(sys_api, patient_id, fmt, expected):
    r = sys_api.session.get(
        sys_api.url(f"Patient/{patient_id}"), params={"_format": fmt}, timeout=60  # requests encodes the '+'
    )
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith(expected)
    model = Patient.parse_raw(r.content, content_type="application/xml") if expected == XML_CT else \
        Patient.parse_raw(r.content)
    assert model.id == patient_id


@pytest.mark.parametrize(
    "accept, expected",
    [
        ("application/fhir+json", JSON_CT), ("application/json", JSON_CT),
        ("application/fhir+json; fhirVersion=4.0", JSON_CT), ("*/*", JSON_CT),
        ("application/fhir+xml", XML_CT), ("application/xml", XML_CT), ("text/xml", XML_CT),
    ],
)
def test_accept_header_values(sys_api, patient_id, accept, expected):
    r = sys_api.get(f"Patient/{patient_id}", headers={"Accept": accept})
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith(expected)


@pytest.mark.parametrize(
    "accept", ["application/fhir+xml;q=0.1, application/fhir+json;q=0.9", "application/fhir+xml;q=0"]
)
def test_accept_quality_values_are_honoured(sys_api, patient_id, accept):
    r = sys_api.get(f"Patient/{patient_id}", headers={"Accept": accept})
    if accept.endswith("q=0"):
        assert r.status_code == 406 or r.headers["Content-Type"].startswith(JSON_CT), r.headers["Content-Type"]
    else:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith(JSON_CT), r.headers["Content-Type"]
