import { expect } from 'chai';
import request from 'supertest';
import { createApiApp, type ApiApp } from '../../../src/app.js';
import { recordViolation } from '../../harness/contract-audit.js';
import type { ThoughtRecordChanged, ThoughtRecordView } from '../../../kernel/contracts/thought-records.js';
import { connectDevice, type TestDevice } from '../../harness/socket-client.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';
import { analysedEntry, fullRecord } from './fixtures.js';

type AckError = { error: { code: string; message: string } };

describe('thought records over Socket.IO', () => {
  let app: TestApp;
  let second: ApiApp;
  let alice: TestUser;
  let bob: TestUser;
  const devices: TestDevice[] = [];
  const changes = new Map<TestDevice, ThoughtRecordChanged[]>();

  /** A device that records every `thought-record:changed` it gets. */
  async function device(target: ApiApp, user: TestUser): Promise<TestDevice> {
    const d = await connectDevice(target.url(), user.accessToken);
    const seen: ThoughtRecordChanged[] = [];
    d.socket.on('thought-record:changed', (e) => seen.push(e));
    changes.set(d, seen);
    devices.push(d);
    return d;
  }

  before(async function () {
    this.timeout(60_000);
    app = await startTestApp('thoughtsockets');
    // A second instance on the same stores, Redis and topics: the event must cross the adapter.
    second = await createApiApp({ ...app.config, app: { ...app.config.app, instanceId: `${app.config.app.instanceId}-b` } }, { log: app.log, responseAudit: recordViolation });
    await second.start();
    alice = await createTestUser(app);
    bob = await createTestUser(app);
  });

  after(async () => {
    for (const d of devices) d.close();
    await second.stop();
    await app.destroy();
  });

  const emit = <T>(d: TestDevice, event: 'thought-record:get' | 'thought-record:save', body: unknown) =>
    new Promise<T | AckError>((resolve) => (d.socket.emit as (e: string, b: unknown, ack: (r: T | AckError) => void) => void)(event, body, resolve));

  it("when a record is saved over REST, then every device of the person gets thought-record:changed, on either instance, and another user's device gets nothing", async () => {
    const phone = await device(app, alice);
    const laptop = await device(second, alice);
    const stranger = await device(app, bob);
    const diaryId = await analysedEntry(app, alice);

    const res = await request(app.server).put(`/api/v1/diaries/${diaryId}/thought-record`).set(alice.auth).send(fullRecord()).expect(201);
    for (const d of [phone, laptop]) {
      const [event] = await d.waitFor('thought-record:changed', () => changes.get(d)!.length > 0 && changes.get(d)!);
      expect(event).to.deep.equal({ diaryId, version: 1, analysisRevision: 1, updatedAt: res.body.updatedAt });
    }

    await request(app.server).delete(`/api/v1/diaries/${diaryId}/thought-record`).set(alice.auth).expect(204);
    await laptop.waitFor('the deletion', () => changes.get(laptop)!.length === 2);
    expect(changes.get(laptop)![1]).to.include({ diaryId, version: 0, analysisRevision: null });
    // The stranger was connected all along, to the instance that saved.
    await new Promise((r) => setTimeout(r, 300));
    expect(changes.get(stranger)).to.deep.equal([]);
  });

  it('when a device reads and saves through the socket commands, then it gets what REST gives and the other device hears of the save', async () => {
    const phone = await device(app, alice);
    const laptop = await device(second, alice);
    const diaryId = await analysedEntry(app, alice);

    const blank = (await emit<ThoughtRecordView>(phone, 'thought-record:get', { diaryId })) as ThoughtRecordView;
    expect(blank).to.include({ diaryId, version: 0 });
    expect(blank.thoughts).to.have.length(3);

    const saved = (await emit<ThoughtRecordView>(phone, 'thought-record:save', { diaryId, record: fullRecord({ expectedVersion: 0 }) })) as ThoughtRecordView;
    expect(saved).to.include({ diaryId, version: 1 });
    const rest = await request(app.server).get(`/api/v1/diaries/${diaryId}/thought-record`).set(alice.auth);
    expect(rest.body).to.deep.equal(saved);
    await laptop.waitFor('the save from the phone', () => changes.get(laptop)!.some((e) => e.diaryId === diaryId && e.version === 1));

    const conflict = await emit<ThoughtRecordView>(laptop, 'thought-record:save', { diaryId, record: fullRecord({ expectedVersion: 0 }) });
    expect(conflict).to.have.nested.property('error.code', 'version_conflict');
  });

  it("when a device asks for another user's record or sends a malformed payload, then the ack says not_found or invalid_payload", async () => {
    const diaryId = await analysedEntry(app, alice);
    await request(app.server).put(`/api/v1/diaries/${diaryId}/thought-record`).set(alice.auth).send(fullRecord()).expect(201);
    const stranger = await device(app, bob);
    expect(await emit(stranger, 'thought-record:get', { diaryId })).to.have.nested.property('error.code', 'not_found');
    expect(await emit(stranger, 'thought-record:save', { diaryId, record: fullRecord() })).to.have.nested.property('error.code', 'not_found');
    expect(await emit(stranger, 'thought-record:save', { diaryId, record: { analysisRevision: 1, emotionsBefore: [{ name: 'sad', rating: 500 }] } })).to.have.nested.property(
      'error.code',
      'invalid_payload',
    );
    expect(await emit(stranger, 'thought-record:get', { diaryId: 'x' })).to.have.nested.property('error.code', 'invalid_payload');
  });
});
