import { expect } from 'chai';
import { WebSocket } from 'ws';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

/** What the server answers to a raw Socket.IO websocket upgrade from `localAddress`: open, or the HTTP status it refused with. */
function upgrade(url: string, localAddress: string): Promise<{ opened: boolean; status?: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { localAddress });
    ws.once('open', () => resolve({ opened: true, ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ opened: false, status: res.statusCode }));
    ws.once('error', () => resolve({ opened: false }));
  });
}

describe('handshake budget per client address', function () {
  this.timeout(30_000);
  let app: TestApp;

  before(async () => {
    // Windows are fixed (aligned to the clock): an hour-long one makes it unlikely that the seven
    // upgrades straddle a boundary (with 10 s, a slow run once saw the 7th allowed by a new window).
    app = await startTestApp('hsbudget', { realtime: { handshakesPerAddressPerWindow: 5, eventWindowMs: 3_600_000 } });
  });

  after(async () => {
    await app?.destroy();
  });

  it('when one address opens more connections in a window than its budget, then the next upgrades are refused (engine.io answers Forbidden, HTTP 400) before any handshake, and another address still connects', async () => {
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await upgrade(app.url(), '127.0.0.3'));
    const other = await upgrade(app.url(), '127.0.0.4');
    try {
      expect(results.map((r) => r.opened)).to.deep.equal([true, true, true, true, true, false, false]);
      expect(results.slice(5).map((r) => r.status)).to.deep.equal([400, 400]);
      expect(other.opened, 'another client address').to.equal(true);
      const metrics = await (await fetch(`${app.url()}/metrics`)).text();
      expect(metrics).to.match(/socketio_connect_errors_total\{[^}]*reason="address_budget"[^}]*\} 2/);
    } finally {
      for (const r of [...results, other]) r.ws?.terminate();
    }
  });
});
