// axe-core on every page a therapist uses (no serious or critical violation), and a full-page
// screenshot of each: at 1280 wide, and at 768 (a tablet) for the caseload and a client.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import {
  PASSWORD, THERAPIST, apiCaseload, apiToken, launch, newPage, screenshot, signIn, submit, url,
} from './lib.js';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

async function violations(page) {
  await page.addScriptTag({ path: axePath });
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join('; ')})`);
}

describe('accessibility and screenshots', () => {
  let browser;
  let clients;

  before(async () => {
    browser = await launch();
    clients = await apiCaseload(await apiToken(THERAPIST));
  });

  after(async () => {
    await browser?.close();
  });

  // The pages as the therapist finds them, by path, in the order of the screenshots.
  const pages = () => [
    ['03-caseload', '/desk/caseload'],
    ['05-client', `/desk/clients/${clients[0].patient.id}`],
    ...clients.slice(1).map((c, i) => [`${String(7 + i).padStart(2, '0')}-client-${c.patient.display_name.split(' ')[0].toLowerCase()}`, `/desk/clients/${c.patient.id}`]),
    [`${String(7 + clients.length - 1).padStart(2, '0')}-invites`, '/desk/invites'],
    [`${String(8 + clients.length - 1).padStart(2, '0')}-devices`, '/desk/devices'],
  ];

  test('axe-core finds no serious or critical violation', async () => {
    // CSP bypassed in this context only, so axe can be injected.
    const page = await newPage(browser, { bypassCSP: true });
    const found = [];
    await page.goto(url('/desk/sign-in'));
    found.push(...(await violations(page)).map((v) => `/desk/sign-in: ${v}`));
    await signIn(page);
    for (const [, path] of pages()) {
      const response = await page.goto(url(path));
      assert.equal(response.status(), 200, `${path} answers 200`);
      found.push(...(await violations(page)).map((v) => `${path}: ${v}`));
    }
    // The invite page again with a new code shown and a pending one to revoke.
    await page.goto(url('/desk/invites'));
    await submit(page, page.getByRole('button', { name: 'Make an invite code' }), '/desk/invites');
    await page.getByRole('button', { name: 'Revoke' }).first().waitFor();
    found.push(...(await violations(page)).map((v) => `/desk/invites (a code made): ${v}`));
    await page.context().close();
    assert.deepEqual(found, [], `axe-core violations:\n${found.join('\n')}`);
  });

  test('screenshots of every page, none with a script error or a blocked style or script', async () => {
    const page = await newPage(browser);
    // A Content-Security-Policy violation (an inline style or script) is reported on the console;
    // the refused sign-in's 401 and the missing client's 404 are the statuses meant.
    const problems = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404)/.test(message.text())) {
        problems.push(`${page.url()}: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
    await page.goto(url('/desk/sign-in'));
    await screenshot(page, '01-sign-in');
    await page.getByRole('textbox', { name: 'Email' }).fill(THERAPIST);
    await page.getByLabel('Password', { exact: true }).fill(`${PASSWORD}-wrong`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await screenshot(page, '02-sign-in-refused');
    await signIn(page);
    for (const [name, path] of pages()) {
      await page.goto(url(path));
      await screenshot(page, name);
      if (name === '03-caseload') await screenshot(page, '04-caseload-768', 768);
      if (name === '05-client') await screenshot(page, '06-client-768', 768);
    }
    const missing = await page.goto(url('/desk/clients/00000000-0000-7000-8000-000000000000'));
    assert.equal(missing.status(), 404);
    await screenshot(page, `${String(9 + clients.length - 1).padStart(2, '0')}-client-not-found`);
    await page.context().close();
    assert.deepEqual(problems, [], `console errors:\n${problems.join('\n')}`);
  });
});
