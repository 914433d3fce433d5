"""SMART Health IT's fhirclient: its R4 model classes and server API, with a bearer token on its session."""

from __future__ import annotations

import pytest
import requests
from fhirclient.models.bundle import Bundle
from fhirclient.models.humanname import HumanName
from fhirclient.models.identifier import Identifier
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRNotFoundException, FHIRPermissionDeniedException

from helpers import unique, validate


def test_read_patient(fhirclient_factory, patient_token, patient_id, sys_api):
    srv = fhirclient_factory(patient_token)
    patient = Patient.read(patient_id, srv)
    assert patient.id == patient_id
    assert patient.name[0].family == sys_api.get_json(f"Patient/{patient_id}")["name"][0]["family"]
    assert patient.birthDate.date is not None
    validate(patient.as_json(), "Patient")
    assert patient.as_json() == sys_api.get_json(f"Patient/{patient_id}")


def test_search_observations_across_pages(fhirclient_factory, patient_token, patient_id, sys_api):
    srv = fhirclient_factory(patient_token)
    search = Observation.where(struct={"patient": patient_id, "category": "laboratory", "_count": "4"})
    bundles = list(search.perform_iter(srv))  # follows next links
    total = sys_api.total(f"Observation?patient={patient_id}&category=laboratory")
    assert len(bundles) in (-(-total // 4), -(-total // 4) + 1)  # an empty last page is allowed
    assert all(isinstance(b, Bundle) and b.total == total for b in bundles)
    resources = list(search.perform_resources_iter(srv))
    assert len(resources) == total == len({o.id for o in resources})
    for obs in resources:
        assert isinstance(obs, Observation)
        assert obs.subject.reference == f"Patient/{patient_id}"
        validate(obs.as_json(), "Observation")
    assert len(search.perform_resources(srv)) == total


def test_not_found_and_forbidden(fhirclient_factory, patient_token, other_patient_id):
    srv = fhirclient_factory(patient_token)
    with pytest.raises(FHIRNotFoundException):
        Patient.read(other_patient_id, srv)
    patient = Patient({"name": [{"family": "Nobody"}]})
    with pytest.raises(FHIRPermissionDeniedException):
        patient.create(srv)


def test_create_update_delete(fhirclient_factory, system_token, sys_api):
    srv = fhirclient_factory(system_token)
    family = unique("Fc")
    patient = Patient()
    patient.name = [HumanName({"family": family, "given": ["Grace"]})]
    patient.identifier = [Identifier({"system": "urn:bedside-conformance", "value": family})]
    patient.gender = "female"
    created = patient.create(srv)
    validate(created, "Patient")
    pid = created["id"]

    read = Patient.read(pid, srv)
    read.active = True
    updated = read.update()  # PUT to the server it was read from
    assert validate(updated, "Patient").meta.versionId == "2"
    assert Patient.read(pid, srv).active is True

    found = Patient.where(struct={"identifier": f"urn:bedside-conformance|{family}"}).perform_resources(srv)
    assert [p.id for p in found] == [pid]

    read.delete()
    with pytest.raises(requests.HTTPError) as exc:
        Patient.read(pid, srv)
    assert exc.value.response.status_code == 410
