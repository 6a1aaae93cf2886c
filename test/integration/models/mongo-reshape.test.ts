import { expect } from 'chai';
import { Types } from 'mongoose';
import { reshapeLegacyDocuments } from '../../../models/mongo/reshape-legacy.js';
import { createAnnouncementRepository } from '../../../src/announcements/announcement-repository.js';
import { createNotificationRepository } from '../../../src/notifications/notification-repository.js';
import { useMongoStore } from '../../harness/mongo-store.js';

describe('documents of an earlier version reshaped by migrate (real store)', () => {
  const mongo = useMongoStore('reshape');


  it('when notifications and acks with ObjectId ids exist, one of them parked by a crashed run, then they get the new shapes once, heads and counts included', async () => {
    const legacy = (userId: string, seq: number, ackedAt: Date | null) => ({
      _id: new Types.ObjectId(),
      userId,
      seq,
      eventId: `e-${userId}-${seq}`,
      type: 'analysis.status',
      payload: { diaryId: `d${seq}`, status: 'COMPLETED' },
      createdAt: new Date(),
      ackedAt,
    });
    await mongo.models.Notification.collection.insertMany([legacy('5', 1, new Date()), legacy('5', 2, null), legacy('6', 1, null)] as never);
    // A crashed run parked this one and removed it from the inbox before writing its new shape.
    await mongo.conn.db!.collection('reshape_parked_notifications').insertOne(legacy('5', 3, null) as never);
    const announcement = await createAnnouncementRepository(mongo.models).create({ title: 't', body: 'b', createdBy: '1' });
    await mongo.models.AnnouncementAck.collection.insertMany([
      { _id: new Types.ObjectId(), announcementId: announcement.id, userId: '5', ackedAt: new Date() },
      { _id: new Types.ObjectId(), announcementId: announcement.id, userId: '6', ackedAt: new Date() },
    ] as never);

    expect(await reshapeLegacyDocuments(mongo.models)).to.deep.equal({ notifications: 4, announcementAcks: 2 });
    expect(await reshapeLegacyDocuments(mongo.models)).to.deep.equal({ notifications: 0, announcementAcks: 0 });

    const inbox = createNotificationRepository(mongo.models);
    expect((await inbox.forReplay('5', 3, 10)).map((n) => [n.id, n.diaryId])).to.deep.equal([
      ['5:2', 'd2'],
      ['5:3', 'd3'],
    ]);
    expect(await inbox.head('5')).to.equal(3);
    expect((await inbox.add('5', { eventId: 'new', type: 'analysis.status', payload: {} })).notification.seq).to.equal(4);
    expect(await inbox.ack('6', { ids: ['6:1'] })).to.equal(1);
    const announcements = createAnnouncementRepository(mongo.models);
    expect((await announcements.ackCounts([announcement.id])).get(announcement.id)).to.equal(2);
    expect(await announcements.ack(announcement.id, '5')).to.equal(false);
    expect(await mongo.conn.db!.collection('reshape_parked_notifications').countDocuments()).to.equal(0);
  });
});
