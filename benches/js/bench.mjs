// The published OpenIM JS client (@openim/client-sdk) as a peer: the same dev gateway,
// the same machine, the same measurements where they apply.
//
//   node bench.mjs <ws_addr> <api_addr> <out_dir>
//
// login: time from login() to OnConnectSuccess (the JS client resolves login() when the
// socket opens, before the gateway has accepted the token; OnConnectSuccess comes with
// the gateway's status frame). Also reported: time to login() resolving.
// reconnect: /dev/drop_connections, then time to OnConnectSuccess.
// memory: RSS growth per logged-in client instance, 100 instances in one process.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocketBase from 'ws';

class WS extends WebSocketBase {
  constructor(...a) { super(...a); this.binaryType = 'arraybuffer'; }
}
globalThis.WebSocket = WS;
console.info = () => {}; // the SDK prints a banner per instance
console.log = () => {};
const out = (...a) => process.stdout.write(a.join(' ') + '\n');
const { getSDK, CbEvents } = await import('@openim/client-sdk');

const [wsAddr, apiAddr, outDir] = process.argv.slice(2);
const LOGINS = Number(process.env.JS_LOGINS ?? 300);
const WARMUP = 30;
const RECONNECTS = Number(process.env.JS_RECONNECTS ?? 5);
const SESSIONS = Number(process.env.JS_SESSIONS ?? 100);

async function post(path, body, token) {
  const headers = { 'Content-Type': 'application/json', operationID: `bench-${Math.random()}` };
  if (token) headers.token = token;
  const r = await fetch(apiAddr + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const j = await r.json();
  if (j.errCode !== 0) throw new Error(`${path}: ${JSON.stringify(j)}`);
  return j.data;
}
const admin = (await post('/auth/get_admin_token', { secret: 'openIM123', userID: 'imAdmin' })).token;
const users = ['jsbench', ...Array.from({ length: SESSIONS }, (_, i) => `js${i}`)];
await post('/user/user_register', { users: users.map((u) => ({ userID: u, nickname: u })) }, admin);
const token = async (u) => (await post('/auth/get_user_token', { platformID: 5, userID: u }, admin)).token;

function next(sdk, event) {
  return new Promise((resolve) => {
    const h = () => { sdk.off(event, h); resolve(performance.now()); };
    sdk.on(event, h);
  });
}
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))]; };
const summary = (xs) => ({ n: xs.length, p50_us: pct(xs, 0.5), p90_us: pct(xs, 0.9), p99_us: pct(xs, 0.99), max_us: Math.max(...xs) });

// ---- login latency ----
const sdk = getSDK();
const tok = await token('jsbench');
const connected = [], resolved = [];
for (let i = 0; i < LOGINS + WARMUP; i++) {
  const success = next(sdk, CbEvents.OnConnectSuccess);
  const t0 = performance.now();
  await sdk.login({ userID: 'jsbench', token: tok, wsAddr, apiAddr, platformID: 5 });
  const t1 = performance.now();
  const t2 = await success;
  if (i >= WARMUP) { resolved.push((t1 - t0) * 1000); connected.push((t2 - t0) * 1000); }
  await sdk.logout();
}
const login = summary(connected);
out(`js login→OnConnectSuccess  n=${login.n} p50 ${login.p50_us.toFixed(1)} µs  p99 ${login.p99_us.toFixed(1)} µs`);
out(`js login() resolved         p50 ${pct(resolved, 0.5).toFixed(1)} µs`);
writeFileSync(`${outDir}/js_login_us.csv`, connected.map((v) => v.toFixed(1)).join('\n') + '\n');

// ---- reconnect after a server-side drop ----
await sdk.login({ userID: 'jsbench', token: tok, wsAddr, apiAddr, platformID: 5 });
await new Promise((r) => setTimeout(r, 200));
const reconnect = [];
for (let i = 0; i < RECONNECTS; i++) {
  const success = next(sdk, CbEvents.OnConnectSuccess);
  const t0 = performance.now();
  await post('/dev/drop_connections', {}, admin);
  reconnect.push(((await success) - t0) * 1000);
  await new Promise((r) => setTimeout(r, 100));
}
await sdk.logout();
const rec = summary(reconnect);
out(`js reconnect after drop     n=${rec.n} p50 ${(rec.p50_us / 1000).toFixed(1)} ms`);

// ---- memory per session ----
global.gc?.();
const rss0 = process.memoryUsage().rss;
const sdks = [];
const toks = await Promise.all(users.slice(1).map(token));
await Promise.all(toks.map(async (t, i) => {
  const s = getSDK();
  const ok = next(s, CbEvents.OnConnectSuccess);
  await s.login({ userID: `js${i}`, token: t, wsAddr, apiAddr, platformID: 5 });
  await ok;
  sdks.push(s);
}));
await new Promise((r) => setTimeout(r, 1000));
global.gc?.();
const rss1 = process.memoryUsage().rss;
const perSession = (rss1 - rss0) / 1024 / SESSIONS;
out(`js sessions n=${SESSIONS}: RSS ${Math.round(rss0 / 1024)} → ${Math.round(rss1 / 1024)} KiB = ${perSession.toFixed(1)} KiB per session`);
await Promise.all(sdks.map((s) => s.logout()));

writeFileSync(`${outDir}/js.json`, JSON.stringify({
  node: process.version,
  sdk: '@openim/client-sdk@0.0.14',
  login_to_connect_success: login,
  login_resolved_p50_us: pct(resolved, 0.5),
  reconnect_after_drop: rec,
  sessions: { n: SESSIONS, rss_kib_before: Math.round(rss0 / 1024), rss_kib_after: Math.round(rss1 / 1024), kib_per_session: perSession },
}, null, 1));
process.exit(0);
