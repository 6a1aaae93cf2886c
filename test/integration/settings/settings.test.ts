import { expect } from 'chai';
import request from 'supertest';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

describe('settings over REST', () => {
  let app: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;

  before(async () => {
    app = await startTestApp('settings');
    alice = await createTestUser(app);
    bob = await createTestUser(app);
    admin = await createTestUser(app, { role: 'ADMIN' });
  });

  after(() => app.destroy());

  const effective = async (user: TestUser) => {
    const res = await request(app.server).get('/api/v1/settings').set(user.auth);
    expect(res.status).to.equal(200);
    return Object.fromEntries(res.body.items.map((s: { key: string; value: unknown; isDefault: boolean }) => [s.key, s])) as Record<
      string,
      { value: unknown; isDefault: boolean; userEditable: boolean; dataType: string }
    >;
  };
  const put = (user: TestUser, key: string, value: unknown) => request(app.server).put(`/api/v1/settings/${key}`).set(user.auth).send({ value });

  it('when a user reads settings, then each option default comes back typed by its data type', async () => {
    const s = await effective(alice);
    expect(s.language).to.include({ value: 'en', dataType: 'STRING', isDefault: true });
    expect(s['notifications.analysis']).to.include({ value: true, dataType: 'BOOLEAN' });
    expect(s['diary.maxPerDay']).to.include({ value: 50, dataType: 'NUMBER', userEditable: false });
    expect(s['reminder.daily']!.value).to.deep.equal({ enabled: false, time: '21:00' });
  });

  it('when a user sets values of each type, then they read back typed, override the default and only for that user', async () => {
    expect((await put(alice, 'theme', 'dark')).status).to.equal(200);
    expect((await put(alice, 'notifications.analysis', false)).status).to.equal(200);
    expect((await put(alice, 'reminder.daily', { enabled: true, time: '07:30' })).status).to.equal(200);
    const s = await effective(alice);
    expect(s.theme).to.include({ value: 'dark', isDefault: false });
    expect(s['notifications.analysis']!.value).to.equal(false);
    expect(s['reminder.daily']!.value).to.deep.equal({ enabled: true, time: '07:30' });
    const other = await effective(bob);
    expect(other.theme).to.include({ value: 'system', isDefault: true });
  });

  it('when a value does not fit its option, then it answers 400 naming body.value and keeps the old value', async () => {
    await put(alice, 'language', 'ko');
    for (const [key, value] of [
      ['notifications.analysis', 'yes'],
      ['language', 'fr'],
      ['timezone', 'Mars/Olympus'],
      ['theme', 42],
    ] as const) {
      const res = await put(alice, key, value);
      expect(res.status, key).to.equal(400);
      expect(res.body.errors[0].path).to.equal('body.value');
    }
    expect((await effective(alice)).language!.value).to.equal('ko');
  });

  it('when a non-editable or unknown option is set, then it answers 403 or 404', async () => {
    const locked = await put(alice, 'diary.maxPerDay', 1000);
    expect(locked.status).to.equal(403);
    expect(locked.body.code).to.equal('setting_not_editable');
    expect((await put(alice, 'no.such.setting', 1)).status).to.equal(404);
    expect((await request(app.server).put('/api/v1/settings/bad key!').set(alice.auth).send({ value: 1 })).status).to.equal(400);
  });

  it('when a setting is reset, then the default applies again', async () => {
    await put(alice, 'theme', 'light');
    const res = await request(app.server).delete('/api/v1/settings/theme').set(alice.auth);
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ value: 'system', isDefault: true });
    expect((await effective(alice)).theme!.value).to.equal('system');
  });

  it('when the effective settings are cached, then a write invalidates the cache (no stale read)', async () => {
    await effective(bob);
    expect(await app.clients.redis.keys(`${app.config.redis.keyPrefix}settings:effective:*`)).to.have.length.greaterThan(0);
    await put(bob, 'timezone', 'Asia/Seoul');
    expect((await effective(bob)).timezone!.value).to.equal('Asia/Seoul');
  });

  describe('admin management of options', () => {
    it('when a USER calls an admin route, then it answers 403', async () => {
      expect((await request(app.server).get('/api/v1/admin/settings-options').set(alice.auth)).status).to.equal(403);
      expect((await request(app.server).post('/api/v1/admin/settings-options').set(alice.auth).send({ key: 'x', dataType: 'STRING', defaultValue: 'a' })).status).to.equal(403);
    });

    it('when an admin creates, changes and deletes an option, then every user sees it at once despite caches', async () => {
      await effective(alice);
      const created = await request(app.server)
        .post('/api/v1/admin/settings-options')
        .set(admin.auth)
        .send({ key: 'journal.font', dataType: 'STRING', defaultValue: 'serif', description: 'Font' });
      expect(created.status).to.equal(201);
      // Exactly the documented option fields (the row's timestamps are not part of it).
      expect(Object.keys(created.body).sort()).to.deep.equal(['dataType', 'defaultValue', 'description', 'key', 'userEditable']);
      expect((await effective(alice))['journal.font']!.value).to.equal('serif');

      expect((await request(app.server).patch('/api/v1/admin/settings-options/journal.font').set(admin.auth).send({ defaultValue: 'sans' })).status).to.equal(200);
      expect((await effective(alice))['journal.font']!.value).to.equal('sans');

      const locked = await request(app.server).patch('/api/v1/admin/settings-options/journal.font').set(admin.auth).send({ userEditable: false });
      expect(locked.body.userEditable).to.equal(false);
      expect(Object.keys(locked.body).sort()).to.deep.equal(['dataType', 'defaultValue', 'description', 'key', 'userEditable']);
      expect((await put(alice, 'journal.font', 'mono')).status).to.equal(403);

      expect((await request(app.server).delete('/api/v1/admin/settings-options/journal.font').set(admin.auth)).status).to.equal(204);
      expect(await effective(alice)).not.to.have.property('journal.font');
    });

    it('when an admin sends a duplicate key or a default of the wrong type, then it answers 409 or 400', async () => {
      const dup = await request(app.server).post('/api/v1/admin/settings-options').set(admin.auth).send({ key: 'theme', dataType: 'STRING', defaultValue: 'x' });
      expect(dup.status).to.equal(409);
      const wrong = await request(app.server).post('/api/v1/admin/settings-options').set(admin.auth).send({ key: 'x.flag', dataType: 'BOOLEAN', defaultValue: 'maybe' });
      expect(wrong.status).to.equal(400);
    });
  });
});
