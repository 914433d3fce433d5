#!/usr/bin/env python3
"""Generate conformance/us-core.json from the official US Core 6.1.0 server CapabilityStatement and
US Core SearchParameters.

Reads (HL7 US Core 6.1.0, github.com/HL7/US-Core tag 6.1.0, CC0-1.0):
  shared/data/us-core-6.1.0-definitions/capabilitystatement-us-core-server.json
  shared/data/us-core-6.1.0-definitions/searchparameter-us-core-*.json
and the R4 SearchParameters (shared/data/r4-definitions/search-parameters.json) to tell which US Core
parameters R4 lacks. Writes conformance/us-core.json:

  instantiates   the canonical URL of the US Core Server CapabilityStatement
  resource       per US Core resource type: supportedProfile, the search parameters and combinations
                 with their expectation (SHALL/SHOULD/MAY), searchInclude, searchRevInclude, operations
  parameter      the US Core SearchParameters that R4 does not define for that type (slim, in the same
                 shape as conformance/search-parameters.json, so the registry loads them the same way)

Deterministic output (sorted keys, fixed indentation): re-running on the same input gives the same bytes.

Usage: python3 tools/gen_us_core.py [--definitions DIR] [--r4 DIR] [--out FILE]
"""
import argparse
import glob
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
EXPECTATION = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation"
COMBINATION = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
SOURCE_NOTE = (
    "HL7 US Core 6.1.0 (github.com/HL7/US-Core tag 6.1.0, commit 7dd8da082d9ece3a9cde209d7f5b792c082988c2): "
    "input/resources/capabilitystatement-us-core-server.json and searchparameter-us-core-*.json; "
    "condensed by tools/gen_us_core.py"
)


def expectation(element):
    for ext in element.get("extension", []):
        if ext.get("url") == EXPECTATION:
            return ext.get("valueCode")
    return None


def combinations(resource):
    out = []
    for ext in resource.get("extension", []):
        if ext.get("url") != COMBINATION:
            continue
        required = [e["valueString"] for e in ext.get("extension", []) if e.get("url") == "required"]
        out.append({"expectation": expectation(ext) or "MAY", "required": sorted(required)})
    return sorted(out, key=lambda c: (c["expectation"], c["required"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--definitions", default=os.path.join(SHARED, "us-core-6.1.0-definitions"))
    ap.add_argument("--r4", default=os.path.join(SHARED, "r4-definitions"))
    ap.add_argument("--out", default=os.path.join(ROOT, "conformance", "us-core.json"))
    args = ap.parse_args()

    with open(os.path.join(args.definitions, "capabilitystatement-us-core-server.json"), encoding="utf-8") as f:
        cs = json.load(f)
    with open(os.path.join(args.r4, "search-parameters.json"), encoding="utf-8") as f:
        r4 = json.load(f)
    r4_codes = set()
    for e in r4["entry"]:
        r = e["resource"]
        for b in r.get("base", []):
            r4_codes.add((b, r["code"]))

    def r4_has(base, code):
        return (base, code) in r4_codes or ("Resource", code) in r4_codes or ("DomainResource", code) in r4_codes

    parameters = []
    for path in sorted(glob.glob(os.path.join(args.definitions, "searchparameter-us-core-*.json"))):
        with open(path, encoding="utf-8") as f:
            sp = json.load(f)
        bases = [b for b in sp["base"] if not r4_has(b, sp["code"])]
        if not bases:
            continue
        slim = {
            "url": sp["url"],
            "code": sp["code"],
            "base": bases,
            "type": sp["type"],
            "expression": sp["expression"],
            "description": " ".join(sp.get("description", "").split()).split(". ")[0].rstrip(".") + ".",
        }
        for key in ("target", "comparator", "modifier", "chain", "multipleOr", "multipleAnd"):
            if key in sp:
                slim[key] = sp[key]
        parameters.append(slim)
    parameters.sort(key=lambda p: (p["base"][0], p["code"]))

    rest = cs["rest"][0]
    resources = {}
    for res in rest["resource"]:
        t = res["type"]
        searches = []
        for sp in res.get("searchParam", []):
            searches.append({"name": sp["name"], "type": sp["type"], "expectation": expectation(sp) or "MAY",
                             "definition": sp.get("definition")})
        searches.sort(key=lambda s: s["name"])
        operations = [{"name": o["name"], "definition": o["definition"], "expectation": expectation(o) or "MAY"}
                      for o in res.get("operation", [])]
        entry = {
            "supportedProfile": res.get("supportedProfile", []),
            "searchParam": searches,
            "combination": combinations(res),
            "searchInclude": sorted(res.get("searchInclude", [])),
            "searchRevInclude": sorted(res.get("searchRevInclude", [])),
        }
        if operations:
            entry["operation"] = operations
        resources[t] = entry

    out = {
        "source": SOURCE_NOTE,
        "license": "CC0-1.0",
        "instantiates": cs["url"],
        "usCoreVersion": "6.1.0",
        "resource": resources,
        "parameter": parameters,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {args.out}: {len(resources)} types, {len(parameters)} US Core parameters R4 lacks")


if __name__ == "__main__":
    main()
