"""Fixtures: the server run.sh started (CONFORMANCE_* variables) and clients for its two tokens."""

from __future__ import annotations

import os

import aiohttp
import pytest
from fhirclient import server as fhirclient_server

from helpers import TIMEOUT, Api, RecordingAsyncClient, RecordingSyncClient


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(
            f"{name} is not set: run this suite with `bash conformance/python/run.sh PATH_TO_BEDSIDE`",
            returncode=4,
        )
    return value


@pytest.fixture(scope="session")
def fhir_base() -> str:
    return _env("CONFORMANCE_FHIR_BASE").rstrip("/")


@pytest.fixture(scope="session")
def system_token() -> str:
    return _env("CONFORMANCE_SYSTEM_TOKEN")


@pytest.fixture(scope="session")
def patient_token() -> str:
    return _env("CONFORMANCE_PATIENT_TOKEN")


@pytest.fixture(scope="session")
def patient_id() -> str:
    """The demo patient the patient token is bound to."""
    return os.environ.get("CONFORMANCE_PATIENT_ID", "demo-patient-01")


@pytest.fixture(scope="session")
def other_patient_id() -> str:
    """A demo patient outside the patient token's compartment."""
    return "demo-patient-02"


@pytest.fixture
def sys_api(fhir_base, system_token) -> Api:
    return Api(fhir_base, system_token)


@pytest.fixture
def pat_api(fhir_base, patient_token) -> Api:
    return Api(fhir_base, patient_token)


@pytest.fixture
def anon_api(fhir_base) -> Api:
    return Api(fhir_base, None)


@pytest.fixture
def fhirpy_sys(fhir_base, system_token) -> RecordingSyncClient:
    return RecordingSyncClient(
        fhir_base, authorization=f"Bearer {system_token}", requests_config={"timeout": TIMEOUT}
    )


@pytest.fixture
def fhirpy_pat(fhir_base, patient_token) -> RecordingSyncClient:
    return RecordingSyncClient(
        fhir_base, authorization=f"Bearer {patient_token}", requests_config={"timeout": TIMEOUT}
    )


@pytest.fixture
def async_client_factory(fhir_base):
    """fhirpy's async client for a token (None: no Authorization header)."""

    def make(token: str | None) -> RecordingAsyncClient:
        return RecordingAsyncClient(
            fhir_base,
            authorization=f"Bearer {token}" if token else None,
            aiohttp_config={"timeout": aiohttp.ClientTimeout(total=TIMEOUT)},
        )

    return make


@pytest.fixture
def fhirclient_factory(fhir_base):
    """A fhirclient FHIRServer without a SMART launch: the bearer token sits on its requests.Session."""

    def make(token: str | None) -> fhirclient_server.FHIRServer:
        srv = fhirclient_server.FHIRServer(None, base_uri=fhir_base)
        if token:
            srv.session.headers["Authorization"] = f"Bearer {token}"
        return srv

    return make
