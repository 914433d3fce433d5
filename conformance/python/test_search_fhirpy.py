"""Search driven by fhirpy (sync and async): paging over `next` links, sorting, includes, chaining."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import pytest

from helpers import entries, link, observation_date, validate, validate_bundle

PAGE = 7


def _category_codes(obs: dict) -> set[str]:
    return {c["code"] for cat in obs.get("category", []) for c in cat.get("coding", [])}


@pytest.mark.parametrize("category", ["vital-signs", "laboratory"])
def test_sync_paging_visits_every_observation_once(fhirpy_sys, sys_api, patient_id, category):
    total = sys_api.total(f"Observation?patient={patient_id}&category={category}")
    assert total > PAGE, "the demo data set should need several pages"

    search = fhirpy_sys.resources("Observation").search(patient=patient_id, category=category).limit(PAGE)
    seen = list(search)  # fhirpy follows Bundle.link[next] until there is none

    full_pages = -(-total // PAGE)
    assert len(fhirpy_sys.pages) in (full_pages, full_pages + 1), "one request per page of _count entries"
    assert all(fhirpy_sys.pages[i].get("entry") for i in range(full_pages)), "an empty page before the end"
    for page in fhirpy_sys.pages:
        validate_bundle(page, "searchset")
        assert page["total"] == total
        assert len(page.get("entry", [])) <= PAGE
    ids = [o.id for o in seen]
    assert len(ids) == total
    assert len(set(ids)) == total, "an Observation came back on two pages"
    for obs in seen:
        validate(obs, "Observation")
        assert obs["subject"]["reference"] == f"Patient/{patient_id}"
        assert category in _category_codes(obs.serialize())


def test_async_paging_matches_sync(async_client_factory, system_token, sys_api, patient_id):
    async def run():
        client = async_client_factory(system_token)

        async def collect(category):
            search = client.resources("Observation").search(patient=patient_id, category=category).limit(4)
            return [o async for o in search]

        vitals, labs = await asyncio.gather(collect("vital-signs"), collect("laboratory"))
        # reads issued concurrently
        some = vitals[:3] + labs[:3]
        fetched = await asyncio.gather(*(client.reference("Observation", o.id).to_resource() for o in some))
        return client, vitals, labs, some, fetched

    client, vitals, labs, some, fetched = asyncio.run(run())
    assert len(vitals) == sys_api.total(f"Observation?patient={patient_id}&category=vital-signs")
    assert len(labs) == sys_api.total(f"Observation?patient={patient_id}&category=laboratory")
    assert not {o.id for o in vitals} & {o.id for o in labs}
    for page in client.pages:
        validate_bundle(page, "searchset")
    for a, b in zip(some, fetched):
        assert validate(b).id == a.id
        assert b.serialize() == a.serialize()


def test_sort_by_date_descending_across_pages(fhirpy_sys, patient_id):
    desc = list(
        fhirpy_sys.resources("Observation").search(patient=patient_id, category="laboratory").sort("-date").limit(5)
    )
    dates = [observation_date(o.serialize()) for o in desc]
    assert len(dates) > 5
    assert dates == sorted(dates, reverse=True), "_sort=-date is not descending"

    asc = list(
        fhirpy_sys.resources("Observation").search(patient=patient_id, category="laboratory").sort("date").limit(5)
    )
    asc_dates = [observation_date(o.serialize()) for o in asc]
    assert asc_dates == sorted(asc_dates)
    assert {o.id for o in asc} == {o.id for o in desc}


def test_include_subject_and_performer(fhirpy_sys, patient_id):
    search = (
        fhirpy_sys.resources("Observation")
        .search(patient=patient_id, category="laboratory")
        .include("Observation", "subject")
        .include("Observation", "performer")
        .limit(100)
    )
    bundle = search.fetch_raw()
    raw = fhirpy_sys.pages[-1]
    validate_bundle(raw, "searchset")
    matches, included = entries(raw, "match"), entries(raw, "include")
    assert matches and len(matches) == raw["total"]
    assert {r["resourceType"] for r in matches} == {"Observation"}
    included_refs = {f"{r['resourceType']}/{r['id']}" for r in included}
    assert f"Patient/{patient_id}" in included_refs
    wanted = {p["reference"] for o in matches for p in o.get("performer", [])}
    assert wanted, "demo lab Observations name a performer"
    assert wanted <= included_refs, f"performers not included: {wanted - included_refs}"
    assert len(included_refs) == len(included), "an included resource is listed twice"
    assert len(bundle.entry) == len(raw["entry"])


def test_revinclude_careplan_and_goals(fhirpy_sys, patient_id):
    search = (
        fhirpy_sys.resources("Patient")
        .search(_id=patient_id)
        .revinclude("CarePlan", "subject")
        .revinclude("Goal", "subject")
    )
    patients = search.fetch()  # fhirpy keeps only the searched type
    assert [p.id for p in patients] == [patient_id]
    raw = fhirpy_sys.pages[-1]
    validate_bundle(raw, "searchset")
    assert raw["total"] == 1
    included = entries(raw, "include")
    types = {r["resourceType"] for r in included}
    assert types == {"CarePlan", "Goal"}, types
    for r in included:
        assert r["subject"]["reference"] == f"Patient/{patient_id}"
    careplan = next(r for r in included if r["resourceType"] == "CarePlan")
    goals = {f"Goal/{r['id']}" for r in included if r["resourceType"] == "Goal"}
    assert {g["reference"] for g in careplan.get("goal", [])} <= goals


def test_chained_search_equals_direct_search(fhirpy_sys, sys_api, patient_id):
    patient = sys_api.get_json(f"Patient/{patient_id}")
    family = patient["name"][0]["family"]
    assert sys_api.total(f"Patient?family:exact={family}") == 1, "the demo family name should be unique"

    chained = fhirpy_sys.resources("Observation").search(subject__Patient__family=family).limit(25)
    direct = fhirpy_sys.resources("Observation").search(patient=patient_id).limit(25)
    chained_ids = {o.id for o in chained}
    assert chained_ids == {o.id for o in direct}
    assert len(chained_ids) == sys_api.total(f"Observation?patient={patient_id}")
    assert "subject:Patient.family=" in unquote(link(fhirpy_sys.pages[0], "self"))


def test_reverse_chaining_has(fhirpy_sys, sys_api, patient_id):
    lab = sys_api.get_json(f"Observation?patient={patient_id}&category=laboratory&_count=1")
    code = entries(lab)[0]["code"]["coding"][0]["code"]
    found = list(fhirpy_sys.resources("Patient").has("Observation", "patient", code=code).limit(10))
    ids = {p.id for p in found}
    assert patient_id in ids
    for pid in ids:
        assert sys_api.total(f"Observation?patient={pid}&code={code}") > 0, pid
    for p in found:
        validate(p, "Patient")


def test_lenient_handling_reports_the_ignored_parameter(sys_api):
    strict = sys_api.get("Patient?no-such-param=1")
    assert strict.status_code == 400
    r = sys_api.get("Patient?no-such-param=1&_count=2", headers={"Prefer": "handling=lenient"})
    assert r.status_code == 200, r.text[:500]
    bundle = r.json()
    validate_bundle(bundle, "searchset")
    outcomes = entries(bundle, "outcome")
    assert len(outcomes) == 1 and outcomes[0]["resourceType"] == "OperationOutcome"
    assert "no-such-param" in outcomes[0]["issue"][0]["diagnostics"]
    assert all(r["resourceType"] == "Patient" for r in entries(bundle, "match"))


def test_post_search_and_system_search_agree_with_get(sys_api, patient_id):
    get = sys_api.get_json(f"Observation?patient={patient_id}&category=laboratory&_count=100")
    post = sys_api.request(
        "POST", "Observation/_search",
        data={"patient": patient_id, "category": "laboratory", "_count": "100"},
    )
    assert post.status_code == 200, post.text[:500]
    validate_bundle(post.json(), "searchset")
    assert [r["id"] for r in entries(post.json())] == [r["id"] for r in entries(get)]

    system = sys_api.get_json(f"?_type=Patient,CarePlan&_id={patient_id},demo-p01-careplan")
    validate_bundle(system, "searchset")
    assert sorted(f"{r['resourceType']}/{r['id']}" for r in entries(system)) == [
        "CarePlan/demo-p01-careplan", f"Patient/{patient_id}"
    ]


def test_altered_paging_cursor_is_rejected(sys_api, patient_id):
    first = sys_api.get_json(f"Observation?patient={patient_id}&_count=3")
    nxt = link(first, "next")
    assert nxt and "_cursor=" in nxt
    assert sys_api.get(nxt).status_code == 200
    tampered = nxt[:-4] + ("AAAA" if not nxt.endswith("AAAA") else "BBBB")
    r = sys_api.get(tampered)
    assert r.status_code == 400, r.text[:300]
    validate(r.json(), "OperationOutcome")
