import type { QueryInterface } from 'sequelize';

/** Deleting an entry deletes its outbox rows (they carry its text) by message key. */
export async function up(qi: QueryInterface): Promise<void> {
  await qi.addIndex('outbox_events', ['message_key'], { name: 'outbox_events_message_key_idx' });
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.removeIndex('outbox_events', 'outbox_events_message_key_idx');
}
