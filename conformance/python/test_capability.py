"""GET /metadata: the CapabilityStatement, read without a token by raw HTTP and by fhirclient."""

from __future__ import annotations

import time

import pytest
from fhirclient.models.capabilitystatement import CapabilityStatement as FcCapabilityStatement

from helpers import FHIR_JSON, FHIR_XML, validate

CORE = {
    "Patient": {"_id", "identifier", "name", "family", "given", "birthdate", "gender"},
    "Observation": {"_id", "patient", "subject", "category", "code", "date", "value-quantity"},
    "Appointment": {"_id", "patient", "actor", "status", "date"},
    "CarePlan": {"_id", "patient", "subject", "status", "category", "activity-reference", "goal"},
}
INTERACTIONS = {"read", "vread", "update", "delete", "history-instance", "create", "search-type"}


def test_metadata_is_a_valid_r4_capability_statement(anon_api, fhir_base):
    r = anon_api.get("metadata")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"].startswith(FHIR_JSON)
    cs = validate(r.json(), "CapabilityStatement")
    assert cs.fhirVersion == "4.0.1"
    assert cs.kind == "instance"
    assert cs.status == "active"
    assert FHIR_JSON in cs.format and FHIR_XML in cs.format
    assert cs.implementation.url == fhir_base
    rest = cs.rest[0]
    assert rest.mode == "server"
    assert {i.code for i in rest.interaction} >= {"transaction", "batch"}
    assert rest.security.service[0].coding[0].code == "SMART-on-FHIR"


def test_metadata_lists_core_types_with_search_params(anon_api):
    cs = validate(anon_api.get_json("metadata"), "CapabilityStatement")
    by_type = {res.type: res for res in cs.rest[0].resource}
    for rtype, params in CORE.items():
        assert rtype in by_type, f"{rtype} missing from the CapabilityStatement"
        res = by_type[rtype]
        assert {i.code for i in res.interaction} >= INTERACTIONS, rtype
        advertised = {p.name: p for p in res.searchParam or []}
        assert params <= set(advertised), f"{rtype}: missing {params - set(advertised)}"
        for p in advertised.values():
            assert p.type in {"number", "date", "string", "token", "reference", "quantity", "uri"}, (
                f"{rtype}.{p.name} advertises unsupported type {p.type}"
            )
    assert "Observation:subject" in by_type["Observation"].searchInclude
    assert "CarePlan:activity-reference" in by_type["CarePlan"].searchInclude
    assert "Observation:patient" in by_type["Patient"].searchRevInclude


def get_honouring_429(api, path: str, tries: int = 20):
    """GET, waiting as told by Retry-After while the server's rate limit answers 429 (every R4 type is
    served, so this test sends a couple of thousand requests)."""
    for _ in range(tries):
        r = api.get(path)
        if r.status_code != 429:
            return r
        time.sleep(float(r.headers.get("Retry-After", "1")))
    return r


def test_every_advertised_search_param_is_accepted(anon_api, sys_api):
    """Each searchParam of each advertised type works with :missing (supported on every type); no 400.

    `_id` is checked on its own below (known deviation)."""
    cs = validate(anon_api.get_json("metadata"), "CapabilityStatement")
    failures = []
    checked = 0
    for res in cs.rest[0].resource:
        for p in res.searchParam or []:
            if p.name == "_id":
                continue
            checked += 1
            r = get_honouring_429(sys_api, f"{res.type}?{p.name}:missing=false&_summary=count")
            if r.status_code != 200:
                failures.append(f"{res.type}?{p.name}:missing=false -> {r.status_code} {r.text[:200]}")
    assert checked > 300
    assert not failures, "\n".join(failures)


def test_missing_modifier_on_id(sys_api):
    r = sys_api.get("Patient?_id:missing=false&_summary=count")
    assert r.status_code == 200, r.text[:300]
    assert r.json()["total"] == sys_api.total("Patient")
    assert sys_api.total("Patient?_id:missing=true") == 0


def test_fhirclient_reads_the_capability_statement(fhirclient_factory):
    srv = fhirclient_factory(None)
    cs = srv.capabilityStatement
    assert isinstance(cs, FcCapabilityStatement)
    assert cs.fhirVersion == "4.0.1"
    types = {r.type for r in cs.rest[0].resource}
    assert set(CORE) <= types
    validate(cs.as_json(), "CapabilityStatement")
