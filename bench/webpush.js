// The Node anchor: `web-push` from npm sends COUNT messages to ENDPOINT/n, CONCURRENCY at once,
// to the same TLS receiver the dispatcher uses (trusted through NODE_EXTRA_CA_CERTS).
const crypto = require('crypto');
const https = require('https');
const webpush = require('web-push');

const endpoint = process.env.ENDPOINT;
const count = Number(process.env.COUNT || 2000);
const concurrency = Number(process.env.CONCURRENCY || 32);
const vapid = webpush.generateVAPIDKeys();
webpush.setVapidDetails('mailto:operations@aftercare.example.org', vapid.publicKey, vapid.privateKey);
const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency });

function subscription(n) {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint: `${endpoint}/${n}`,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: crypto.randomBytes(16).toString('base64url') },
  };
}

async function main() {
  const subs = Array.from({ length: concurrency }, (_, n) => subscription(n));
  const payload = JSON.stringify({ id: crypto.randomUUID(), kind: 'test', title: 'Time for your journal',
    body: 'How is your back today?', link: '/journal/new' });
  let next = 0, sent = 0, failed = 0;
  const started = process.hrtime.bigint();
  async function worker(w) {
    while (next < count) {
      next++;
      try {
        const res = await webpush.sendNotification(subs[w], payload, { TTL: 3600, agent });
        if (res.statusCode === 201) sent++; else failed++;
      } catch (e) {
        failed++;
        if (failed === 1) console.error(String(e && (e.body || e.message || e)));
      }
    }
  }
  await Promise.all(subs.map((_, w) => worker(w)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`sent=${sent} failed=${failed} seconds=${seconds.toFixed(2)} per_second=${(sent / seconds).toFixed(0)}`);
}

main();
