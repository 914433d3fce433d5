"""Shared helpers: R4 validation with fhir.resources, a thin raw HTTP client, recording fhirpy clients."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import requests
from fhir.resources import construct_fhir_element
from fhirpy import AsyncFHIRClient, SyncFHIRClient

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
TIMEOUT = 60

DEMO_TAG_SYSTEM = "http://bedside.example/fhir/tags"


def unique(prefix: str) -> str:
    """A value no other test (or earlier run against the same server) uses."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def as_dict(resource: Any) -> dict:
    """A plain JSON dict from a dict, a fhirpy resource or a fhirclient model."""
    if hasattr(resource, "serialize"):  # fhirpy
        return json.loads(json.dumps(resource.serialize()))
    if hasattr(resource, "as_json"):  # fhirclient
        return resource.as_json()
    return resource


def validate(resource: Any, expected_type: str | None = None):
    """Parses a resource with the official R4 (4.0.1) model of fhir.resources; raises on any violation."""
    data = as_dict(resource)
    assert isinstance(data, dict), f"not a JSON object: {data!r}"
    rtype = data.get("resourceType")
    assert rtype, f"no resourceType: {data!r}"
    if expected_type is not None:
        assert rtype == expected_type, f"expected {expected_type}, got {rtype}"
    return construct_fhir_element(rtype, data)


def validate_bundle(bundle: Any, bundle_type: str | None = None):
    """Validates a Bundle and, separately, every resource in it (so errors name the entry)."""
    data = as_dict(bundle)
    model = validate(data, "Bundle")
    if bundle_type is not None:
        assert data["type"] == bundle_type, data["type"]
    for i, entry in enumerate(data.get("entry", [])):
        if "resource" in entry:
            try:
                validate(entry["resource"])
            except Exception as e:  # noqa: BLE001 - re-raise with the entry's position
                raise AssertionError(f"Bundle.entry[{i}].resource does not validate: {e}") from e
    return model


def validate_outcome(resp: requests.Response, status: int):
    """The response has the status and its body is a valid OperationOutcome with an error issue."""
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:500]}"
    assert resp.headers.get("Content-Type", "").startswith(FHIR_JSON), resp.headers.get("Content-Type")
    oo = validate(resp.json(), "OperationOutcome")
    assert any(i.severity in ("error", "fatal") for i in oo.issue), resp.text
    return oo


def entries(bundle: dict, mode: str | None = None) -> list[dict]:
    """Bundle entry resources, optionally only those with search.mode == mode."""
    out = []
    for e in bundle.get("entry", []):
        if mode is None or e.get("search", {}).get("mode") == mode:
            out.append(e["resource"])
    return out


def link(bundle: dict, relation: str) -> str | None:
    for lk in bundle.get("link", []):
        if lk.get("relation") == relation:
            return lk["url"]
    return None


_DATETIME = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T.*)?)?)?$")


def parse_fhir_datetime(value: str) -> dt.datetime:
    """A FHIR date/dateTime/instant as an aware datetime (the start of its range for partial dates)."""
    assert _DATETIME.match(value), value
    if len(value) == 4:
        value += "-01-01"
    elif len(value) == 7:
        value += "-01"
    if len(value) == 10:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.timezone.utc)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"dateTime with a time but no zone: {value}"
    return parsed


def observation_date(obs: dict) -> dt.datetime:
    if "effectiveDateTime" in obs:
        return parse_fhir_datetime(obs["effectiveDateTime"])
    if "effectivePeriod" in obs and "start" in obs["effectivePeriod"]:
        return parse_fhir_datetime(obs["effectivePeriod"]["start"])
    if "effectiveInstant" in obs:
        return parse_fhir_datetime(obs["effectiveInstant"])
    raise AssertionError(f"Observation/{obs.get('id')} has no effective date")


class Api:
    """Raw HTTP against the FHIR base, for what the client libraries do not expose (headers, status)."""

    def __init__(self, base: str, token: str | None):
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Accept"] = FHIR_JSON
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return f"{self.base}/{path.lstrip('/')}" if path else self.base

    def request(self, method: str, path: str, *, json_body: Any = None, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if json_body is not None:
            kw["data"] = json.dumps(json_body)
            headers.setdefault("Content-Type", FHIR_JSON)
        return self.session.request(method, self.url(path), headers=headers, timeout=TIMEOUT, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> requests.Response:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = None, **kw) -> requests.Response:
        return self.request("PUT", path, json_body=body, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def get_json(self, path: str, **kw) -> dict:
        r = self.get(path, **kw)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text[:500]}"
        return r.json()

    def create(self, resource: dict) -> dict:
        r = self.post(resource["resourceType"], resource)
        assert r.status_code == 201, f"create {resource['resourceType']}: {r.status_code} {r.text[:500]}"
        return r.json()

    def total(self, query: str) -> int:
        """Bundle.total of a search (with _summary=count)."""
        sep = "&" if "?" in query else "?"
        return self.get_json(f"{query}{sep}_summary=count")["total"]


class RecordingSyncClient(SyncFHIRClient):
    """fhirpy's sync client, keeping every raw Bundle page it fetched while following `next` links."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.pages: list[dict] = []

    def _fetch_resource(self, path, params=None):
        data = super()._fetch_resource(path, params)
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            self.pages.append(json.loads(json.dumps(data)))
        return data


class RecordingAsyncClient(AsyncFHIRClient):
    """fhirpy's async client, keeping every raw Bundle page it fetched."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.pages: list[dict] = []

    async def _fetch_resource(self, path, params=None):
        data = await super()._fetch_resource(path, params)
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            self.pages.append(json.loads(json.dumps(data)))
        return data
