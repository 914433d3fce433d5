#!/usr/bin/env python3
"""Generate conformance/element-types.json from fhirbolt-model's generated R4 source.

Usage:
    tools/gen_element_types.py [MODEL_R4_DIR] [-o OUTPUT] [--serde-dir SERDE_R4_DIR]

MODEL_R4_DIR defaults to the first match of
    ~/.cargo/registry/src/*/fhirbolt-model-0.4.0/src/generated/r4
OUTPUT defaults to conformance/element-types.json (relative to the repo root).

The output maps every resource type, complex datatype and backbone element to
{json element name: FHIR type}. Primitive types use the FHIR lowercase names
("date", "code", ...), complex types their FHIR names ("HumanName"), backbone
elements a dotted key ("Patient.contact"), nested resources "Resource".
Repeating elements get a "[]" suffix ("name": "HumanName[]").
Choice elements are expanded ("deceasedBoolean": "boolean", ...).

The dotted backbone paths and the exact JSON element names are taken from the
sibling fhirbolt-serde crate (ground truth for JSON names); the script fails
loudly if the camelCase conversion of the model's field names disagrees with
the names the serde deserializers accept.
"""
import argparse
import glob
import json
import os
import re
import sys

PRIMITIVES = {
    "Boolean": "boolean", "Integer": "integer", "String": "string",
    "Decimal": "decimal", "Uri": "uri", "Url": "url", "Canonical": "canonical",
    "Base64Binary": "base64Binary", "Instant": "instant", "Date": "date",
    "DateTime": "dateTime", "Time": "time", "Code": "code", "Oid": "oid",
    "Id": "id", "Markdown": "markdown", "UnsignedInt": "unsignedInt",
    "PositiveInt": "positiveInt", "Uuid": "uuid", "Xhtml": "xhtml",
}

STRUCT_RE = re.compile(r"^pub struct (\w+) \{\n(.*?)^\}", re.S | re.M)
ENUM_RE = re.compile(r"^pub enum (\w+) \{\n(.*?)^\}", re.S | re.M)
# rustfmt may wrap long field types over several lines; types contain no commas.
FIELD_RE = re.compile(r"^\s*pub r#(\w+):\s*([^,]+?)\s*,", re.M)
VARIANT_RE = re.compile(r"^\s*(\w+)\(\s*([^,]+?)\s*,?\s*\),", re.M)


def camel(snake):
    parts = snake.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def unwrap(ty):
    """Return (base type string, is_array)."""
    ty = ty.strip()
    array = False
    changed = True
    while changed:
        changed = False
        for wrapper in ("Option<", "Vec<", "Box<"):
            if ty.startswith(wrapper) and ty.endswith(">"):
                if wrapper == "Vec<":
                    array = True
                ty = ty[len(wrapper):-1].strip()
                changed = True
    return ty, array


def strip_docs(src):
    # doc strings may contain braces / "pub r#" text; drop them first.
    out = []
    for line in src.split("\n"):
        if line.lstrip().startswith('#[doc = "'):
            continue
        out.append(line)
    return "\n".join(out)


def parse_model(model_dir):
    structs, enums = {}, {}
    files = sorted(glob.glob(os.path.join(model_dir, "resources", "*.rs")))
    files += sorted(glob.glob(os.path.join(model_dir, "types", "*.rs")))
    for path in files:
        src = strip_docs(open(path, encoding="utf-8").read())
        for m in STRUCT_RE.finditer(src):
            structs[m.group(1)] = [(f, t) for f, t in FIELD_RE.findall(m.group(2))]
        for m in ENUM_RE.finditer(src):
            enums[m.group(1)] = [(v, t) for v, t in VARIANT_RE.findall(m.group(2))]
    return structs, enums


SER_IMPL_RE = re.compile(
    r"impl serde::ser::Serialize\s+for SerializationContext<\s*&(\w+),?\s*>\s*\{.*?"
    r'"missing required field `\{\}\.\{\}`"\s*,\s*"([\w.]+)"', re.S)
EXPECT_RE = re.compile(r'formatter\s*\.\s*write_str\s*\(\s*"(\w+)"\s*,?\s*\)')
RENAME_RE = re.compile(r'#\[serde\(rename = "([^"]+)"\)\]')


def parse_serde(serde_dir):
    """Return ({rust struct name: FHIR path}, {rust struct name: set of JSON names})."""
    paths, names = {}, {}
    files = sorted(glob.glob(os.path.join(serde_dir, "resources", "*.rs")))
    files += sorted(glob.glob(os.path.join(serde_dir, "types", "*.rs")))
    for path in files:
        src = open(path, encoding="utf-8").read()
        for m in SER_IMPL_RE.finditer(src):
            paths.setdefault(m.group(1), m.group(2))
        # Each visitor: expecting("Name") followed by the Field enum renames,
        # up to the next "fn unknown_field_error".
        for m in EXPECT_RE.finditer(src):
            struct = m.group(1)
            end = src.find("fn unknown_field_error", m.end())
            nxt_m = EXPECT_RE.search(src, m.end())
            nxt = nxt_m.start() if nxt_m else -1
            if end < 0 or (0 <= nxt < end):
                continue
            found = {n for n in RENAME_RE.findall(src[m.end():end])}
            if found:
                names[struct] = found
    return paths, names


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", nargs="?",
                    help="fhirbolt-model-0.4.0/src/generated/r4 (default: search ~/.cargo/registry)")
    ap.add_argument("-o", "--output", help="default: <repo>/conformance/element-types.json")
    ap.add_argument("--serde-dir", help="fhirbolt-serde-0.4.0/src/model/generated/r4 "
                    "(default: next to fhirbolt-model in the registry)")
    args = ap.parse_args(argv)
    out = args.output
    model_dir = args.model_dir
    if model_dir is None:
        cands = sorted(glob.glob(os.path.expanduser(
            "~/.cargo/registry/src/*/fhirbolt-model-0.4.0/src/generated/r4")))
        if not cands:
            sys.exit("fhirbolt-model-0.4.0 source not found; pass its generated/r4 dir")
        model_dir = cands[0]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if out is None:
        out = os.path.join(repo, "conformance", "element-types.json")
    serde_dir = args.serde_dir or os.path.join(
        os.path.dirname(model_dir.rstrip("/").split("/src/generated/")[0]),
        "fhirbolt-serde-0.4.0", "src", "model", "generated", "r4")
    if not os.path.isdir(serde_dir):
        sys.exit("fhirbolt-serde source not found at %s (needed for backbone paths and "
                 "JSON names); pass --serde-dir" % serde_dir)

    structs, enums = parse_model(model_dir)
    paths, serde_names = parse_serde(serde_dir)

    def fhir_type(rust_ty, owner, field):
        if rust_ty == "std::string::String":
            # Element.id (System.String) and Extension.url (uri)
            return "uri" if (owner == "Extension" and field == "url") else "string"
        if rust_ty == "super::super::Resource":
            return "Resource"
        if rust_ty.startswith("super::super::types::"):
            name = rust_ty[len("super::super::types::"):]
            return PRIMITIVES.get(name, name)
        if rust_ty in structs:
            if rust_ty not in paths:
                raise SystemExit("no FHIR path known for backbone struct %s" % rust_ty)
            return paths[rust_ty]
        raise SystemExit("unhandled type %r in %s.%s" % (rust_ty, owner, field))

    types_structs = set()
    for path in glob.glob(os.path.join(model_dir, "types", "*.rs")):
        src = strip_docs(open(path, encoding="utf-8").read())
        types_structs.update(m.group(1) for m in STRUCT_RE.finditer(src))

    result = {}
    problems = []
    for sname in sorted(structs):
        if sname in PRIMITIVES:
            continue  # primitive wrapper structs (Date { id, extension, value })
        # Complex datatypes keep their own name (SimpleQuantity / MoneyQuantity are
        # profiles of Quantity, which fhirbolt models as separate structs); resources
        # and backbone elements use the FHIR path recorded in fhirbolt-serde.
        key = sname if sname in types_structs and "." not in paths.get(sname, "") \
            else paths.get(sname, sname)
        ser = serde_names.get(sname)
        by_lower = {n.lower(): n for n in ser} if ser else {}

        def json_name(n):
            # fhirbolt-serde is ground truth (e.g. carrierAIDC, requestURL, numTP)
            return by_lower.get(n.lower(), n)

        elems = {}
        for field, ty in structs[sname]:
            base, array = unwrap(ty)
            suffix = "[]" if array else ""
            jname = camel(field)
            if base in enums:
                for variant, vty in enums[base]:
                    vbase, _ = unwrap(vty)
                    elems[json_name(jname + variant)] = fhir_type(vbase, sname, field) + suffix
            else:
                elems[json_name(jname)] = fhir_type(base, sname, field) + suffix
        if ser is not None:
            expected = {n for n in ser if not n.startswith("_")}
            if "resourceType" not in elems:
                expected.discard("resourceType")
            if expected != set(elems):
                problems.append("%s: model-only %s, serde-only %s" % (
                    sname, sorted(set(elems) - expected), sorted(expected - set(elems))))
        else:
            problems.append("%s: no serde field list found" % sname)
        if key in result:
            problems.append("duplicate key %s" % key)
        result[key] = elems

    if problems:
        for p in problems:
            print("mismatch: " + p, file=sys.stderr)
        sys.exit(1)

    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("{\n")
        keys = sorted(result)
        for n, k in enumerate(keys):
            fh.write(json.dumps(k) + ":" + json.dumps(result[k], separators=(",", ":")))
            fh.write(",\n" if n + 1 < len(keys) else "\n")
        fh.write("}\n")
    print("wrote %s: %d structures" % (out, len(result)), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
