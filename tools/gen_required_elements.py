#!/usr/bin/env python3
"""Writes conformance/required-elements.json: for each served resource type, its mandatory top-level
elements (min >= 1), used to keep results valid under _summary=text and _elements.

1..1 elements come from fhirbolt-model's generated R4 structs (fields that are neither Option nor Vec);
fhirbolt does not distinguish 0..* from 1..*, so the 1..* elements of the served types are listed below
from the R4 specification. Choice elements are written as `name[x]`.
"""
import glob, json, os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = sys.argv[1] if len(sys.argv) > 1 else (glob.glob(os.path.expanduser(
    "~/.cargo/registry/src/*/fhirbolt-model-0.4.0/src/generated/r4/resources")) or [""])[0]

# 1..* top-level elements of the served types (R4 4.0.1 StructureDefinitions).
ONE_OR_MORE = {
    "Appointment": ["participant"], "AuditEvent": ["agent"], "Claim": ["insurance"], "Coverage": ["payor"],
    "DocumentReference": ["content"], "Endpoint": ["payloadType"], "ExplanationOfBenefit": ["insurance"],
    "Provenance": ["target", "agent"], "Schedule": ["actor"],
}

def camel(snake):
    parts = snake.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])

types_rs = open(os.path.join(ROOT, "src/fhir/types.rs")).read()
served = re.findall(r'^\s+"([A-Za-z]+)",$', types_rs, re.M)
out = {}
for t in served:
    path = os.path.join(MODEL, re.sub(r"(?<!^)(?=[A-Z])", "_", t).lower() + ".rs")
    src = open(path).read()
    m = re.search(r"pub struct %s \{(.*?)\n\}" % t, src, re.S)
    if not m:
        sys.exit("no struct %s in %s" % (t, path))
    required = []
    for name, ty in re.findall(r"pub r#(\w+): ([^\n]+),", m.group(1)):
        if ty.startswith("Option<") or ty.startswith("Vec<"):
            continue
        json_name = camel(name)
        enum_name = t + json_name[:1].upper() + json_name[1:]
        is_choice = ty.strip() == enum_name and ("pub enum %s " % enum_name) in src
        required.append(json_name + "[x]" if is_choice else json_name)
    out[t] = sorted(set(required + ONE_OR_MORE.get(t, [])))
header = {"source": "fhirbolt-model 0.4.0 (R4 4.0.1) and the R4 specification", "license": "CC0-1.0"}
with open(os.path.join(ROOT, "conformance/required-elements.json"), "w") as f:
    json.dump({"header": header, "required": out}, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote %d types" % len(out))
