// The published OpenIM JS client (@openim/client-sdk) against the dev gateway: its
// login / push / kick flow, and how many of N messages it missed while disconnected it
// recovers after its reconnect (its gap fill: 1006, then 1002 ranges with num=10).
//
//   node flow.mjs <ws_addr> <api_addr> [out.json]       (run-flow.sh starts the gateway)
//
// The users (jsu, peer0…) are fresh per run only on a fresh gateway: run-flow.sh runs both
// builds against one gateway, so the second run registers nothing new (errors ignored).
//
// Exits 1 when a step of the flow fails (login, push, kick); the recovery count is measured,
// not asserted. Env: JS_MISSED (default 25) messages sent during the outage, in one
// conversation; JS_MISSED_CONVS (default 3) conversations for the second round.
import { writeFileSync } from 'node:fs';
import WebSocketBase from 'ws';

class WS extends WebSocketBase {
  constructor(...a) { super(...a); this.binaryType = 'arraybuffer'; }
}
globalThis.WebSocket = WS;
console.info = () => {};
console.log = () => {};
console.debug = () => {};
console.warn = () => {};
console.error = () => {};
const out = (...a) => process.stdout.write(a.join(' ') + '\n');
// The package's "main" is its CommonJS build, whose gap fill throws (a transpiled
// `[].concat(map.entries())` yields no ranges: "Cannot read properties of undefined"); the
// ES-module build does not have that bug. JS_SDK_BUILD=cjs measures the CommonJS build.
const BUILD = process.env.JS_SDK_BUILD ?? 'esm';
const { getSDK, CbEvents } = await import(
  BUILD === 'cjs' ? '@openim/client-sdk' : '@openim/client-sdk/lib/index.modern.mjs');
const sdkErrors = [];
process.on('unhandledRejection', (e) => { sdkErrors.push(String(e?.message ?? e)); });

const [wsAddr, apiAddr, outFile] = process.argv.slice(2);
const MISSED = Number(process.env.JS_MISSED ?? 25);
const MISSED_CONVS = Number(process.env.JS_MISSED_CONVS ?? 3);
const fail = (msg) => { out(`FAIL: ${msg}`); process.exit(1); };

async function post(path, body, token) {
  const headers = { 'Content-Type': 'application/json', operationID: `flow-${Math.random()}` };
  if (token) headers.token = token;
  const r = await fetch(apiAddr + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const j = await r.json();
  if (j.errCode !== 0) throw new Error(`${path}: ${JSON.stringify(j)}`);
  return j.data;
}
const admin = (await post('/auth/get_admin_token', { secret: 'openIM123', userID: 'imAdmin' })).token;
const peers = Array.from({ length: MISSED_CONVS }, (_, i) => `peer${i}`);
await post('/user/user_register', { users: ['jsu', ...peers].map((u) => ({ userID: u, nickname: u })) }, admin)
  .catch(() => {}); // already registered by an earlier run on the same gateway
const token = async (u) => (await post('/auth/get_user_token', { platformID: 5, userID: u }, admin)).token;
const send = (from, text) => post('/msg/send_msg', {
  sendID: from, recvID: 'jsu', senderPlatformID: 5, content: { content: text }, contentType: 101, sessionType: 1,
}, admin);

function once(sdk, event, ms = 15000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { sdk.off(event, h); reject(new Error(`no ${event} within ${ms} ms`)); }, ms);
    const h = (e) => { clearTimeout(t); sdk.off(event, h); resolve(e); };
    sdk.on(event, h);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every text the client delivered (OnRecvNewMessages / OnRecvNewMessage), by content.
const received = new Set();
const sdk = getSDK();
const collect = (e) => {
  for (const m of [].concat(e.data ?? [])) {
    try { received.add(JSON.parse(m.content ?? '{}').content ?? m.textElem?.content); } catch { received.add(m.textElem?.content); }
    if (m.textElem?.content) received.add(m.textElem.content);
  }
};
sdk.on(CbEvents.OnRecvNewMessages, collect);
sdk.on(CbEvents.OnRecvNewMessage, collect);

const pullsBefore = (await post('/dev/pull_requests', { userID: 'jsu' }, admin)).pulls.length;

// ---- login ----
const tok = await token('jsu');
const connected = once(sdk, CbEvents.OnConnectSuccess);
await sdk.login({ userID: 'jsu', token: tok, wsAddr, apiAddr, platformID: 5 });
await connected.catch((e) => fail(`login: ${e.message}`));
out('login: OnConnectSuccess');

// ---- push ----
await send(peers[0], 'live-1');
for (let i = 0; i < 100 && !received.has('live-1'); i++) await sleep(50);
if (!received.has('live-1')) fail('push: live-1 not delivered');
out('push: delivered');

// ---- reconnect gap fill ----
async function outage(convs, perConv, tag) {
  const back = once(sdk, CbEvents.OnConnectSuccess, 20000);
  await post('/dev/drop_connections', {}, admin);
  const texts = [];
  for (let c = 0; c < convs; c++) {
    for (let i = 1; i <= perConv; i++) {
      const t = `${tag}-c${c}-${i}`;
      texts.push(t);
      await send(peers[c], t);
    }
  }
  await back.catch((e) => fail(`reconnect: ${e.message}`));
  // Wait until nothing new arrives for 1.5 s (at most 10 s).
  let last = -1, stable = 0;
  for (let i = 0; i < 100 && stable < 15; i++) {
    const n = texts.filter((t) => received.has(t)).length;
    stable = n === last ? stable + 1 : 0;
    last = n;
    await sleep(100);
  }
  const got = texts.filter((t) => received.has(t));
  return { sent: texts.length, recovered: got.length, recovered_texts: got };
}
const one = await outage(1, MISSED, 'gap1');
out(`gap fill, 1 conversation: recovered ${one.recovered} of ${one.sent} (${one.recovered_texts.join(' ')})`);
const many = await outage(MISSED_CONVS, MISSED, 'gap2');
out(`gap fill, ${MISSED_CONVS} conversations: recovered ${many.recovered} of ${many.sent}`);
const pulls = (await post('/dev/pull_requests', { userID: 'jsu' }, admin)).pulls.slice(pullsBefore);
const ranges = pulls.flatMap((p) => p.ranges.map((r) => `${p.reqIdentifier}:${r.conversationID}[${r.begin},${r.end}]num=${r.num}`));
out(`pulls the client made: ${ranges.join('  ')}`);

// ---- kick ----
const kicked = once(sdk, CbEvents.OnKickedOffline);
await sleep(1100); // tokens minted within one second can be equal on the real server
const second = getSDK();
const tok2 = await token('jsu');
const ok2 = once(second, CbEvents.OnConnectSuccess);
await second.login({ userID: 'jsu', token: tok2, wsAddr, apiAddr, platformID: 5 });
await ok2.catch((e) => fail(`second login: ${e.message}`));
await kicked.catch((e) => fail(`kick: ${e.message}`));
out('kick: OnKickedOffline');
await second.logout();

if (sdkErrors.length) out(`client errors: ${[...new Set(sdkErrors)].join(' | ')}`);
const result = {
  sdk: '@openim/client-sdk@0.0.14', build: BUILD, node: process.version, client_errors: [...new Set(sdkErrors)],
  login: 'ok', push: 'ok', kick: 'ok',
  gap_one_conversation: { sent: one.sent, recovered: one.recovered },
  gap_many_conversations: { conversations: MISSED_CONVS, sent: many.sent, recovered: many.recovered },
  pulls: ranges,
};
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 1));
process.exit(0);
