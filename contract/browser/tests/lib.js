// Shared by the browser tests: where the server is, the demo accounts, a browser, the API as the
// patients' apps and the therapist's scripts use it, and screenshots.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = required('AFTERCARE_URL');
export const DB = process.env.AFTERCARE_DB ?? 'local';
export const SCREENS = process.env.AFTERCARE_SCREENS ?? join(process.cwd(), 'screens');
export const OTHER_ORIGIN_PORT = Number(process.env.AFTERCARE_OTHER_ORIGIN_PORT ?? 0);
export const PASSWORD = 'aftercare-demo';
export const THERAPIST = 'jonas@demo.aftercare.example';
export const PATIENTS = {
  ana: 'ana@demo.aftercare.example',
  ben: 'ben@demo.aftercare.example',
  chiara: 'chiara@demo.aftercare.example',
  dev: 'dev@demo.aftercare.example',
};
export const REFUSED_FORM = 'This form has expired or came from another site';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (contract/browser/run.sh sets it)`);
  return value;
}

export function url(path) {
  return new URL(path, BASE_URL).toString();
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
}

export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  // Auto-waiting gives up after this long: a missing element fails the test instead of hanging it.
  context.setDefaultTimeout(Number(process.env.AFTERCARE_BROWSER_TIMEOUT_MS ?? 15000));
  return context.newPage();
}

/** Signs in on /desk/sign-in and waits for the caseload. */
export async function signIn(page, email = THERAPIST, password = PASSWORD) {
  await page.goto(url('/desk/sign-in'));
  await page.getByRole('textbox', { name: 'Email' }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(url('/desk/caseload'));
}

/**
 * Clicks a form's button and waits until the server has answered the post and the browser is
 * on PATH (a fragment, such as the section the page scrolls to, is allowed); answers the post's
 * response.
 */
export async function submit(page, button, path) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()),
    button.click(),
  ]);
  if (path) await page.waitForURL((u) => u.pathname === path);
  return response;
}

/** A JSON API call; answers { status, body } with the body parsed when there is one. */
export async function api(method, path, { token, body, headers = {} } = {}) {
  const response = await fetch(url(path), {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

/** Signs in through the API as an app does; answers the access token. */
export async function apiToken(email, password = PASSWORD, deviceLabel = 'browser tests') {
  const { status, body } = await api('POST', '/v1/auth/token', {
    body: { grant_type: 'password', email, password, device_label: deviceLabel },
  });
  if (status !== 200) throw new Error(`API sign-in of ${email}: ${status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** The therapist's caseload from the API, in its order. */
export async function apiCaseload(token) {
  const { status, body } = await api('GET', '/v1/caseload', { token });
  if (status !== 200) throw new Error(`GET /v1/caseload: ${status} ${JSON.stringify(body)}`);
  return body.items;
}

/** A full-page screenshot at the given width, as target/browser-screens/<db>/<name>.png. */
export async function screenshot(page, name, width = 1280) {
  mkdirSync(SCREENS, { recursive: true });
  const size = page.viewportSize();
  if (size?.width !== width) await page.setViewportSize({ width, height: size?.height ?? 900 });
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true });
  if (size && size.width !== width) await page.setViewportSize(size);
}

/** The element a locator finds is the focused one. */
export async function isFocused(locator) {
  return locator.evaluate((element) => element === document.activeElement);
}
