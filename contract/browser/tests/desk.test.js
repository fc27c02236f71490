// The therapist's day on /desk, in order: sign in, the caseload in the API's order, a client's
// page, an alert acknowledged, a note answered by the client through the app, an invite code made
// and revoked, a client who ends the grant disappearing, forged and cross-site posts refused, and
// signing out.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  OTHER_ORIGIN_PORT, PATIENTS, REFUSED_FORM, THERAPIST,
  api, apiCaseload, apiToken, isFocused, launch, newPage, screenshot, signIn, submit, url,
} from './lib.js';

describe('the therapist dashboard', () => {
  let browser;
  let page;
  let therapistToken;
  let therapistId;

  before(async () => {
    browser = await launch();
    therapistToken = await apiToken(THERAPIST);
    therapistId = (await api('GET', '/v1/me', { token: therapistToken })).body.id;
  });

  after(async () => {
    await browser?.close();
  });

  test('signed out, /desk leads to the sign-in page', async () => {
    const visitor = await newPage(browser);
    await visitor.goto(url('/desk'));
    await visitor.waitForURL(url('/desk/sign-in'));
    await visitor.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await visitor.goto(url('/desk/caseload'));
    await visitor.waitForURL(url('/desk/sign-in'));
    await visitor.context().close();
  });

  test('the keyboard reaches the email, the password and the button, in that order', async () => {
    const visitor = await newPage(browser);
    await visitor.goto(url('/desk/sign-in'));
    const fields = [
      visitor.getByRole('textbox', { name: 'Email' }),
      visitor.getByLabel('Password', { exact: true }),
      visitor.getByRole('button', { name: 'Sign in' }),
    ];
    const reached = [];
    for (let press = 0; press < 25 && reached.length < fields.length; press += 1) {
      await visitor.keyboard.press('Tab');
      for (const [index, field] of fields.entries()) {
        if (!reached.includes(index) && (await isFocused(field))) reached.push(index);
      }
    }
    assert.deepEqual(reached, [0, 1, 2], 'Tab reaches Email, then Password, then Sign in');
    // The focused button submits with the keyboard too.
    await fields[0].fill(THERAPIST);
    await fields[1].fill('aftercare-demo');
    await fields[2].focus();
    await visitor.keyboard.press('Enter');
    await visitor.waitForURL(url('/desk/caseload'));
    await visitor.context().close();
  });

  test('a wrong password and a patient account get the same refusal', async () => {
    const visitor = await newPage(browser);
    for (const [email, password] of [[THERAPIST, 'not-the-password'], [PATIENTS.ana, 'aftercare-demo']]) {
      await visitor.goto(url('/desk/sign-in'));
      await visitor.getByRole('textbox', { name: 'Email' }).fill(email);
      await visitor.getByLabel('Password', { exact: true }).fill(password);
      await visitor.getByRole('button', { name: 'Sign in' }).click();
      await visitor.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
      assert.equal(new URL(visitor.url()).pathname, '/desk/sign-in', `${email} stays on the sign-in page`);
    }
    await visitor.context().close();
  });

  test('signs in and sees the caseload with its navigation', async () => {
    page = await newPage(browser);
    await signIn(page);
    await page.getByRole('heading', { level: 1, name: 'Caseload' }).waitFor();
    const nav = page.getByRole('navigation');
    for (const name of ['Caseload', 'Invite codes', 'Signed-in devices']) {
      await nav.getByRole('link', { name, exact: true }).waitFor();
    }
    await page.getByRole('button', { name: 'Sign out' }).first().waitFor();
  });

  test('the caseload lists the clients in the API order, the red flag first', async () => {
    const items = await apiCaseload(therapistToken);
    assert.ok(items.length >= 4, `the demo's four clients are in the API caseload (${items.length})`);
    assert.equal(items[0].patient.display_name, 'Chiara Romano', 'the API puts the red flag first');
    await page.goto(url('/desk/caseload'));
    const cards = page.getByRole('article');
    assert.equal(await cards.count(), items.length, 'one card per client');
    for (const [index, item] of items.entries()) {
      const link = cards.nth(index).getByRole('heading').getByRole('link');
      assert.equal((await link.innerText()).trim(), item.patient.display_name, `card ${index + 1} is ${item.patient.display_name}`);
      assert.equal(new URL(await link.getAttribute('href'), url('/')).pathname, `/desk/clients/${item.patient.id}`);
    }
    // Each card shows its open alerts by tier, and the silence the API flags.
    const tierWords = { emergency: /emergency/i, urgent: /urgent/i, see_physio: /physiotherapist/i, therapist_followup: /follow/i };
    for (const [index, item] of items.entries()) {
      const text = await cards.nth(index).innerText();
      const tier = item.open_alerts?.most_urgent_tier;
      if (tier) assert.match(text, tierWords[tier], `${item.patient.display_name}'s card names the ${tier} alert`);
      if (item.no_entries_for_days != null) {
        assert.match(text, new RegExp(`No entries for ${item.no_entries_for_days} days?`), `${item.patient.display_name}'s silence`);
      }
    }
    assert.match(await cards.first().innerText(), /urgent/i, 'the red flag is on the first card');
  });

  test('opens a client: name, sections and the printable report', async () => {
    const [first] = await apiCaseload(therapistToken);
    await page.goto(url('/desk/caseload'));
    await page.getByRole('article').first().getByRole('heading').getByRole('link').click();
    await page.waitForURL(url(`/desk/clients/${first.patient.id}`));
    await page.getByRole('heading', { level: 1, name: first.patient.display_name }).waitFor();
    for (const section of ['Pain chart', 'Alerts', 'Notes', 'Entries', 'Sessions', 'Health screen']) {
      await page.getByRole('heading', { level: 2, name: section, exact: true }).waitFor();
    }
    const report = page.getByRole('link', { name: 'Printable report' });
    const response = await page.request.get(new URL(await report.getAttribute('href'), page.url()).toString());
    assert.equal(response.status(), 200, 'the printable report opens');
  });

  test('acknowledges an alert, and the API shows it seen by the therapist', async () => {
    const [first] = await apiCaseload(therapistToken);
    const patientId = first.patient.id;
    await page.goto(url(`/desk/clients/${patientId}`));
    const button = page.getByRole('button', { name: 'Acknowledge' }).first();
    const action = await button.locator('xpath=ancestor::form[1]').getAttribute('action');
    const alertId = action.match(/\/alerts\/([0-9a-f-]{36})\/acknowledge$/)?.[1];
    assert.ok(alertId, `the form posts to an alert's acknowledge route (${action})`);
    const before = await api('GET', `/v1/patients/${patientId}/alerts/${alertId}`, { token: therapistToken });
    assert.equal(before.status, 200);
    assert.ok(!before.body.seen_by_therapists.some((s) => s.therapist_id === therapistId), 'not seen yet');
    const posted = await submit(page, button, `/desk/clients/${patientId}`);
    assert.equal(posted.status(), 303);
    const seen = await api('GET', `/v1/patients/${patientId}/alerts/${alertId}`, { token: therapistToken });
    assert.ok(seen.body.seen_by_therapists.some((s) => s.therapist_id === therapistId), 'seen by the therapist');
    assert.equal(
      await page.locator(`form[action$="/alerts/${alertId}/acknowledge"]`).count(), 0,
      'the acknowledged alert offers no Acknowledge button any more',
    );
  });

  test('writes a note, the client answers in the app, the answer shows after a reload, and the therapist replies in the thread', async () => {
    const [first] = await apiCaseload(therapistToken);
    const patientId = first.patient.id;
    const note = `How is the neck since Tuesday? (${Date.now()})`;
    const reply = `Better, only stiff in the morning. (${Date.now()})`;
    await page.goto(url(`/desk/clients/${patientId}`));
    await page.getByRole('textbox', { name: 'Note to the client' }).fill(note);
    await submit(page, page.getByRole('button', { name: 'Send note' }), `/desk/clients/${patientId}`);
    await page.getByText(note).waitFor();

    const patientToken = await apiToken(PATIENTS.chiara);
    const mine = await api('GET', '/v1/notes', { token: patientToken });
    assert.equal(mine.status, 200);
    const written = mine.body.items.find((n) => n.body === note);
    assert.ok(written, 'the client sees the note in the app');
    const answered = await api('POST', `/v1/notes/${written.id}/replies`, { token: patientToken, body: { body: reply } });
    assert.equal(answered.status, 201, JSON.stringify(answered.body));

    await page.reload();
    await page.getByText(reply).waitFor();

    // The therapist answers in the same thread, and the client's app shows it there.
    const answer = `Good to hear; keep the walks going. (${Date.now()})`;
    const thread = page.locator('.thread').filter({ hasText: reply });
    await thread.getByText('Reply', { exact: true }).click(); // opens the folded reply form
    await thread.getByRole('textbox', { name: 'Your reply' }).fill(answer);
    await submit(page, thread.getByRole('button', { name: 'Send reply' }), `/desk/clients/${patientId}`);
    await page.locator('.thread').filter({ hasText: reply }).getByText(answer).waitFor();
    const after = await api('GET', '/v1/notes', { token: patientToken });
    const answered2 = after.body.items.find((n) => n.body === answer);
    assert.ok(answered2, 'the client sees the answer in the app');
    assert.equal(answered2.thread_id, written.thread_id, 'in the same thread');
    await screenshot(page, '20-client-note-answered');
  });

  test('makes an invite code and revokes it', async () => {
    const listed = async () => (await api('GET', '/v1/care/invites', { token: therapistToken })).body.items.map((i) => i.id);
    const before = await listed();
    await page.goto(url('/desk/caseload'));
    await page.getByRole('navigation').getByRole('link', { name: 'Invite codes', exact: true }).click();
    await page.waitForURL(url('/desk/invites'));
    await page.getByRole('heading', { level: 1, name: 'Invite codes' }).waitFor();
    await submit(page, page.getByRole('button', { name: 'Make an invite code' }), '/desk/invites');
    const made = (await listed()).filter((id) => !before.includes(id));
    assert.equal(made.length, 1, 'one new pending invite');

    // The code shown is the real one: a patient's app can look it up.
    const text = await page.locator('main').innerText();
    const codes = [...text.matchAll(/\b[0-9A-Z]{4}-?[0-9A-Z]{4}\b/g)].map((m) => m[0]);
    assert.ok(codes.length > 0, 'a code is shown');
    const ana = await apiToken(PATIENTS.ana);
    let found = false;
    for (const code of codes) {
      const preview = await api('POST', '/v1/care/invites/lookup', { token: ana, body: { code } });
      if (preview.status === 200 && preview.body.created_by.id === therapistId) found = true;
    }
    assert.ok(found, `the shown code is the therapist's invite (${codes.join(', ')})`);
    await screenshot(page, '21-invites-code-made');

    const revoke = page.locator(`form[action$="/invites/${made[0]}/revoke"]`).getByRole('button', { name: 'Revoke' });
    await submit(page, revoke, '/desk/invites');
    assert.ok(!(await listed()).includes(made[0]), 'the API no longer lists the invite as pending');
    assert.equal(await page.locator(`form[action$="/invites/${made[0]}/revoke"]`).count(), 0);
  });

  test('lists the signed-in devices, this browser marked', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Signed-in devices', exact: true }).click();
    await page.waitForURL(url('/desk/devices'));
    await page.getByRole('heading', { level: 1, name: 'Signed-in devices' }).waitFor();
    await page.getByText('This browser').first().waitFor();
  });

  test('signs out another device, whose token stops working', async () => {
    const label = `Jonas's old tablet ${Date.now()}`;
    const token = await apiToken(THERAPIST, 'aftercare-demo', label);
    assert.equal((await api('GET', '/v1/me', { token })).status, 200);
    await page.goto(url('/desk/devices'));
    const row = page.getByRole('row').filter({ hasText: label });
    await submit(page, row.getByRole('button', { name: 'Sign out' }), '/desk/devices');
    assert.equal(await page.getByRole('row').filter({ hasText: label }).count(), 0, 'the device is no longer listed');
    assert.equal((await api('GET', '/v1/me', { token })).status, 401, "the device's token is refused");
    await page.getByRole('heading', { level: 1, name: 'Signed-in devices' }).waitFor();
  });

  test('refuses a form without the csrf field and one from another origin', async () => {
    const [first] = await apiCaseload(therapistToken);
    const patientId = first.patient.id;
    const action = url(`/desk/clients/${patientId}/notes`);
    await page.goto(url(`/desk/clients/${patientId}`));
    const noteForm = page.locator('form').filter({ has: page.getByRole('button', { name: 'Send note' }) });
    const csrf = await noteForm.locator('input[name="csrf"]').getAttribute('value');
    const field = await noteForm.getByRole('textbox', { name: 'Note to the client' }).getAttribute('name');
    assert.ok(csrf, 'the note form carries a csrf field');
    const notesOf = async () => (await api('GET', `/v1/patients/${patientId}/notes`, { token: therapistToken })).body.items.map((n) => n.body);

    const forged = `forged without csrf ${Date.now()}`;
    const withoutCsrf = await page.request.post(action, { form: { [field]: forged }, maxRedirects: 0 });
    assert.equal(withoutCsrf.status(), 403, 'no csrf field: 403');
    assert.match(await withoutCsrf.text(), new RegExp(REFUSED_FORM));

    const wrong = await page.request.post(action, { form: { [field]: forged, csrf: `${csrf}x` }, maxRedirects: 0 });
    assert.equal(wrong.status(), 403, 'a wrong csrf value: 403');

    const foreign = await page.request.post(action, {
      form: { [field]: forged, csrf },
      headers: { origin: 'https://elsewhere.example', 'sec-fetch-site': 'cross-site' },
      maxRedirects: 0,
    });
    assert.equal(foreign.status(), 403, 'a post from another site, even with the token: 403');

    // A page of another origin (another port: the same site, so the cookie goes along) posting
    // the form with the right token, as a browser would.
    const crossSite = `posted from another origin ${Date.now()}`;
    const other = createServer((_, response) => {
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(`<!doctype html><html lang="en"><title>elsewhere</title>
        <form method="post" action="${action}">
          <input type="hidden" name="csrf" value="${csrf}">
          <input type="hidden" name="${field}" value="${crossSite}">
          <button>Post it</button>
        </form></html>`);
    });
    await new Promise((resolve) => other.listen(OTHER_ORIGIN_PORT, '127.0.0.1', resolve));
    try {
      const attacker = await page.context().newPage();
      await attacker.goto(`http://127.0.0.1:${other.address().port}/`);
      const [response] = await Promise.all([
        attacker.waitForResponse((r) => r.url() === action && r.request().method() === 'POST'),
        attacker.getByRole('button', { name: 'Post it' }).click(),
      ]);
      assert.equal(response.status(), 403, 'a form of another origin: 403');
      await attacker.getByText(REFUSED_FORM).waitFor();
      await screenshot(attacker, '22-form-from-another-origin-refused');
      await attacker.close();
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }

    const notes = await notesOf();
    assert.ok(!notes.includes(forged) && !notes.includes(crossSite), 'no refused post wrote a note');
  });

  test('a client who revokes the grant is gone at the next page load', async () => {
    const items = await apiCaseload(therapistToken);
    const dev = items.find((i) => i.patient.display_name === 'Dev Patel');
    assert.ok(dev, 'Dev Patel is in the caseload');
    await page.goto(url('/desk/caseload'));
    await page.getByRole('link', { name: 'Dev Patel' }).waitFor();
    await page.goto(url(`/desk/clients/${dev.patient.id}`));
    await page.getByRole('heading', { level: 1, name: 'Dev Patel' }).waitFor();

    const patientToken = await apiToken(PATIENTS.dev);
    const grants = await api('GET', '/v1/care/grants', { token: patientToken });
    const grant = grants.body.items.find((g) => g.therapist.id === therapistId);
    assert.ok(grant, 'Dev has a grant for the therapist');
    assert.equal((await api('DELETE', `/v1/care/grants/${grant.id}`, { token: patientToken })).status, 204);

    await page.goto(url('/desk/caseload'));
    await page.getByRole('heading', { level: 1, name: 'Caseload' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Dev Patel' }).count(), 0, 'not in the caseload');
    assert.equal(await page.getByText('Dev Patel').count(), 0, 'not named anywhere on the caseload');
    const response = await page.goto(url(`/desk/clients/${dev.patient.id}`));
    assert.equal(response.status(), 404, 'the client page is not found');
    assert.equal(await page.getByText('Dev Patel').count(), 0, 'the 404 page does not name the client');
  });

  test('signs out', async () => {
    await page.goto(url('/desk/caseload'));
    // On the caseload the header's is the only Sign out button.
    await submit(page, page.getByRole('button', { name: 'Sign out' }), '/desk/sign-in');
    await page.goto(url('/desk/caseload'));
    await page.waitForURL(url('/desk/sign-in'));
    await page.context().close();
  });
});
