import { DataTypes, literal, type QueryInterface } from 'sequelize';

export async function up(qi: QueryInterface): Promise<void> {
  await qi.createTable('outbox_events', {
    id: { type: DataTypes.BIGINT.UNSIGNED, autoIncrement: true, primaryKey: true },
    event_id: { type: DataTypes.CHAR(36), allowNull: false },
    topic: { type: DataTypes.STRING(249), allowNull: false },
    message_key: { type: DataTypes.STRING(191), allowNull: false },
    payload: { type: DataTypes.TEXT('long'), allowNull: false },
    headers: { type: DataTypes.TEXT, allowNull: false },
    status: { type: DataTypes.ENUM('PENDING', 'SENT'), allowNull: false, defaultValue: 'PENDING' },
    attempts: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
    last_error: { type: DataTypes.STRING(500), allowNull: true },
    available_at: { type: DataTypes.DATE(3), allowNull: false, defaultValue: literal('CURRENT_TIMESTAMP(3)') },
    created_at: { type: DataTypes.DATE(3), allowNull: false, defaultValue: literal('CURRENT_TIMESTAMP(3)') },
    sent_at: { type: DataTypes.DATE(3), allowNull: true },
  });
  await qi.addIndex('outbox_events', ['event_id'], { unique: true, name: 'outbox_events_event_id_unique' });
  // The relay scans PENDING rows in id order (per-key order is creation order).
  await qi.addIndex('outbox_events', ['status', 'id'], { name: 'outbox_events_status_idx' });
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.dropTable('outbox_events');
}
