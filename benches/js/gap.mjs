// The published OpenIM JS client (@openim/client-sdk, ES-module build) against the dev gateway:
// how many of a large gap it recovers after a reconnect, and how long that takes. The same
// gap as imbridge's catch-up benchmark (benches/sync.rs): the client is kept away (the gateway
// refuses connections, then drops the live one), GAP_CONVS × GAP_PER messages are stored for it
// (`/dev/backlog`, one peer per conversation), the gateway accepts connections again and the
// client reconnects by itself (its fixed 5 s timer).
//
//   node gap.mjs <ws_addr> <api_addr> [user]     (benches/sync.rs or run-gap.sh starts the gateway)
//
// Prints progress, then one line `RESULT {json}`: sent, recovered, seconds from the reconnect
// (OnConnectSuccess) to the last recovered message, and the wait for the reconnect. Measured, not
// asserted. Env: GAP_CONVS (default 100), GAP_PER (default 100), GAP_SETTLE_MS (default 3000:
// the catch-up is over once nothing new arrived for this long; at most 60 s).
import WebSocketBase from 'ws';

class WS extends WebSocketBase {
  constructor(...a) { super(...a); this.binaryType = 'arraybuffer'; }
}
globalThis.WebSocket = WS;
for (const k of ['info', 'log', 'debug', 'warn', 'error']) console[k] = () => {};
const out = (...a) => process.stdout.write(a.join(' ') + '\n');
const { getSDK, CbEvents } = await import('@openim/client-sdk/lib/index.modern.mjs');
const sdkErrors = [];
process.on('unhandledRejection', (e) => { sdkErrors.push(String(e?.message ?? e)); });

const [wsAddr, apiAddr, userArg] = process.argv.slice(2);
const USER = userArg ?? 'jsgap';
const CONVS = Number(process.env.GAP_CONVS ?? 100);
const PER = Number(process.env.GAP_PER ?? 100);
const SETTLE = Number(process.env.GAP_SETTLE_MS ?? 3000);
const fail = (msg) => { out(`FAIL: ${msg}`); process.exit(1); };

async function post(path, body, token) {
  const headers = { 'Content-Type': 'application/json', operationID: `gap-${Math.random()}` };
  if (token) headers.token = token;
  const r = await fetch(apiAddr + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const j = await r.json();
  if (j.errCode !== 0) throw new Error(`${path}: errCode ${j.errCode} ${j.errMsg}`);
  return j.data;
}
const admin = (await post('/auth/get_admin_token', { secret: 'openIM123', userID: 'imAdmin' })).token;
await post('/user/user_register', { users: [{ userID: USER, nickname: USER }] }, admin).catch(() => {});
const token = (await post('/auth/get_user_token', { platformID: 5, userID: USER }, admin)).token;

function once(sdk, event, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { sdk.off(event, h); reject(new Error(`no ${event} within ${ms} ms`)); }, ms);
    const h = (e) => { clearTimeout(t); sdk.off(event, h); resolve(e); };
    sdk.on(event, h);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Backlog messages delivered (OnRecvNewMessages / OnRecvNewMessage), by clientMsgID.
const received = new Set();
let lastAt = 0;
const sdk = getSDK();
const collect = (e) => {
  for (const m of [].concat(e.data ?? [])) {
    if (!String(m.sendID ?? '').startsWith('peer')) continue;
    const key = m.clientMsgID || `${m.sendID}:${m.seq}`;
    if (!received.has(key)) { received.add(key); lastAt = performance.now(); }
  }
};
sdk.on(CbEvents.OnRecvNewMessages, collect);
sdk.on(CbEvents.OnRecvNewMessage, collect);

const connected = once(sdk, CbEvents.OnConnectSuccess, 15000);
await sdk.login({ userID: USER, token, wsAddr, apiAddr, platformID: 5 });
await connected.catch((e) => fail(`login: ${e.message}`));
await sleep(500); // let its post-login data sync finish

// ---- away: refuse, drop, store the backlog, accept again ----
const back = once(sdk, CbEvents.OnConnectSuccess, 30000);
await post('/dev/refuse_connections', { refuse: true }, admin);
await post('/dev/drop_connections', {}, admin);
await post('/dev/backlog', { userID: USER, conversations: CONVS, perConversation: PER }, admin);
await sleep(200);
const lifted = performance.now();
await post('/dev/refuse_connections', { refuse: false }, admin);
await back.catch((e) => fail(`reconnect: ${e.message}`));
const reconnectAt = performance.now();
out(`reconnected ${((reconnectAt - lifted) / 1000).toFixed(2)} s after the gateway accepted again`);

let last = -1;
let stableSince = performance.now();
const deadline = performance.now() + 60000;
while (performance.now() < deadline) {
  if (received.size !== last) { last = received.size; stableSince = performance.now(); }
  if (performance.now() - stableSince >= SETTLE) break;
  await sleep(50);
}
const seconds = received.size ? Math.max(0, lastAt - reconnectAt) / 1000 : 0;
const result = {
  sdk: '@openim/client-sdk@0.0.14', build: 'esm', node: process.version,
  conversations: CONVS, per_conversation: PER, sent: CONVS * PER, recovered: received.size,
  seconds_reconnect_to_last: Number(seconds.toFixed(3)),
  reconnect_wait_seconds: Number(((reconnectAt - lifted) / 1000).toFixed(3)),
  client_errors: [...new Set(sdkErrors)],
};
out(`recovered ${received.size} of ${CONVS * PER} in ${seconds.toFixed(3)} s after the reconnect`);
out(`RESULT ${JSON.stringify(result)}`);
await sdk.logout().catch(() => {});
process.exit(0);
