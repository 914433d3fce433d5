"""The patient-access story: demo-patient-01's active CarePlan, its Appointments and Goals, with the patient token."""

from __future__ import annotations

import datetime as dt

from helpers import entries, parse_fhir_datetime, validate, validate_bundle


def _active_careplan(fhirpy_pat, patient_id):
    plans = fhirpy_pat.resources("CarePlan").search(patient=patient_id, status="active").fetch_all()
    assert len(plans) == 1, [p.id for p in plans]
    return plans[0]


def test_active_careplan_activities_and_goals_resolve(fhirpy_pat, patient_id):
    plan = _active_careplan(fhirpy_pat, patient_id)
    model = validate(plan, "CarePlan")
    assert model.status == "active" and model.intent in ("plan", "order")
    assert model.subject.reference == f"Patient/{patient_id}"

    appt_refs = [a.reference.reference for a in model.activity or [] if a.reference is not None]
    assert appt_refs and all(r.startswith("Appointment/") for r in appt_refs)
    now = dt.datetime.now(dt.timezone.utc)
    statuses = {}
    for ref in appt_refs:
        appt = validate(fhirpy_pat.reference(reference=ref).to_resource(), "Appointment")
        actors = {p.actor.reference for p in appt.participant if p.actor is not None}
        assert f"Patient/{patient_id}" in actors, ref
        statuses[ref] = appt.status
        if appt.status == "booked":
            assert parse_fhir_datetime(appt.start.isoformat()) > now, f"{ref} is booked in the past"
    assert "booked" in statuses.values(), "the plan should reference upcoming appointments"

    goal_refs = {g.reference for g in model.goal or []}
    for a in model.activity or []:
        if a.detail is not None:
            goal_refs |= {g.reference for g in a.detail.goal or []}
    assert goal_refs
    for ref in sorted(goal_refs):
        goal = validate(fhirpy_pat.reference(reference=ref).to_resource(), "Goal")
        assert goal.subject.reference == f"Patient/{patient_id}"
        assert goal.lifecycleStatus


def test_careplan_includes_everything_it_points_to(pat_api, fhirpy_pat, patient_id):
    plan = _active_careplan(fhirpy_pat, patient_id).serialize()
    bundle = pat_api.get_json(
        f"CarePlan?patient={patient_id}&status=active"
        "&_include=CarePlan:activity-reference&_include=CarePlan:goal"
    )
    validate_bundle(bundle, "searchset")
    included = {f"{r['resourceType']}/{r['id']}" for r in entries(bundle, "include")}
    wanted = {a["reference"]["reference"] for a in plan["activity"] if "reference" in a}
    wanted |= {g["reference"] for g in plan.get("goal", [])}
    assert wanted <= included, f"not included: {wanted - included}"


def test_upcoming_appointments(pat_api, patient_id):
    today = dt.date.today().isoformat()
    bundle = pat_api.get_json(f"Appointment?patient={patient_id}&status=booked&date=ge{today}&_sort=date")
    validate_bundle(bundle, "searchset")
    appts = entries(bundle, "match")
    assert appts, "demo-patient-01 has upcoming appointments"
    starts = [parse_fhir_datetime(a["start"]) for a in appts]
    assert starts == sorted(starts)
    assert all(a["status"] == "booked" for a in appts)


def test_include_iterate_reaches_appointment_actors(pat_api, patient_id):
    bundle = pat_api.get_json(
        f"CarePlan?patient={patient_id}&status=active"
        "&_include=CarePlan:activity-reference&_include:iterate=Appointment:actor"
    )
    validate_bundle(bundle, "searchset")
    included = entries(bundle, "include")
    by_ref = {f"{r['resourceType']}/{r['id']}": r for r in included}
    appts = [r for r in included if r["resourceType"] == "Appointment"]
    assert appts
    actors = {p["actor"]["reference"] for a in appts for p in a["participant"] if "actor" in p}
    # everything the Appointments name is there, as far as the patient token may see it
    visible = {ref for ref in actors if ref.split("/")[0] in {"Patient", "Practitioner", "Location"}}
    missing = {ref for ref in visible if ref not in by_ref and pat_api.get(ref).status_code == 200}
    assert not missing, f"readable actors not included by :iterate: {missing}"
    assert f"Patient/{patient_id}" in by_ref
    assert any(ref.startswith("Practitioner/") for ref in by_ref), sorted(by_ref)
