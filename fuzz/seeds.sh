#!/usr/bin/env bash
# Builds the fuzz corpora in fuzz/corpus/<target>/ from hand-written cases and, when it is there,
# ../shared/data (official R4 examples and Synthea Bundles). Small files only, a bounded number of
# each, so a short run starts from realistic inputs without spending its time on huge ones.
set -euo pipefail
cd "$(dirname "$0")"
DATA="${BEDSIDE_SHARED_DATA:-../../shared/data}"
rm -rf corpus
mkdir -p corpus/resource corpus/bundle corpus/search corpus/scopes

put() { # target, prefix byte (0 = JSON, 1 = XML), file
  local name
  name="$(basename "$3" | tr -c 'A-Za-z0-9._-' '_')"
  { printf "\\x0$2"; cat "$3"; } > "corpus/$1/$name.$2"
}

if [ -d "$DATA" ]; then
  # Official examples (resources of every type), at most 300 under 32 KiB.
  find "$DATA/examples-r4" -name '*.json' -size -32k 2>/dev/null | sort | head -300 | while read -r f; do
    put resource 0 "$f"
  done
  # Synthea patient Bundles under 1 MiB, at most 5.
  find "$DATA/synthea" "$DATA/synthea-recent" "$DATA/synthea-uscore" -name "*.json" -size -1024k 2>/dev/null \
    | sort | head -5 | while read -r f; do
      put bundle 0 "$f"
    done
  echo "seeded from $DATA"
else
  echo "no shared data at $DATA: hand-written seeds only"
fi

# Hand-written seeds: XML with narrative, nesting, and the shapes the server must refuse.
printf '\x01%s' '<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Ann <b>Lee</b></p><div/></div></text><name><family value="Lee"/></name><birthDate value="1980-01-01"/></Patient>' > corpus/resource/patient-xml.1
printf '\x01<Patient xmlns="http://hl7.org/fhir">%s</Patient>' "$(printf '<extension url="x">%.0s' $(seq 60))" > corpus/resource/deep-xml.1
printf '\x00{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50},"text":{"status":"generated","div":"<div xmlns=\\"http://www.w3.org/1999/xhtml\\">x</div>"}}' > corpus/resource/obs.0
printf '\x00{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:22222222-2222-2222-2222-222222222222","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:22222222-2222-2222-2222-222222222222"}},"request":{"method":"POST","url":"Observation"}},{"request":{"method":"GET","url":"Patient?name=Fuzz"}},{"request":{"method":"DELETE","url":"Observation?code=x"}}]}' > corpus/bundle/transaction.0
printf '\x00{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W3sib3AiOiJhZGQiLCJwYXRoIjoiL2FjdGl2ZSIsInZhbHVlIjp0cnVlfV0="},"request":{"method":"PATCH","url":"Patient/x"}}]}' > corpus/bundle/patch.0

i=0
while IFS= read -r line; do
  i=$((i + 1))
  printf '%b' "$line" > "corpus/search/$i"
done <<'EOF2'
Observation\ncode=http://loinc.org|29463-7&_count=10
Observation\nsubject:Patient.name=Fuzz&_include=Observation:subject&_revinclude=Observation:has-member
Patient\n_has:Observation:subject:code=29463-7&birthdate=ge1970&_sort=-birthdate
Observation\nvalue-quantity=gt70|http://unitsofmeasure.org|kg&date=2024&_summary=count
Patient,Observation\n_lastUpdated=gt2000-01-01&_total=accurate&_elements=id
Observation\ncode:not=x,y,z&code=a,b\\,c&status:missing=false\npatient/Observation.rs?category=laboratory
Patient\nname:contains=uz&name:exact=Fuzz&_id=p1,p2&identifier=s|v
EOF2

i=0
while IFS= read -r line; do
  i=$((i + 1))
  printf '%s' "$line" > "corpus/scopes/$i"
done <<'EOF2'
launch/patient openid fhirUser offline_access patient/*.rs
patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory patient/Patient.read
user/*.cruds system/Observation.r?code=1,2&status=final
patient/Observation.read patient/Condition.s?clinical-status=active
EOF2
echo "corpora: $(find corpus -type f | wc -l) files"
