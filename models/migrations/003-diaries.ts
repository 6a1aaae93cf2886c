import { DataTypes, literal, type QueryInterface } from 'sequelize';

const now = { type: DataTypes.DATE(3), allowNull: false, defaultValue: literal('CURRENT_TIMESTAMP(3)') };

export async function up(qi: QueryInterface): Promise<void> {
  await qi.createTable('diaries', {
    id: { type: DataTypes.BIGINT.UNSIGNED, autoIncrement: true, primaryKey: true },
    user_id: {
      type: DataTypes.BIGINT.UNSIGNED,
      allowNull: false,
      references: { model: 'users', key: 'id' },
      onDelete: 'CASCADE',
      onUpdate: 'CASCADE',
    },
    title: { type: DataTypes.STRING(255), allowNull: true },
    content: { type: DataTypes.TEXT('medium'), allowNull: false },
    revision: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 1 },
    analysis_status: {
      type: DataTypes.ENUM('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'),
      allowNull: false,
      defaultValue: 'PENDING',
    },
    analyzed_revision: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
    /** Revision the analysis_status refers to; status events for older revisions are stale. */
    status_revision: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 1 },
    emotion_status: { type: DataTypes.ENUM('POSITIVE', 'NEGATIVE', 'NEUTRAL'), allowNull: true },
    is_negative: { type: DataTypes.BOOLEAN, allowNull: true },
    alternative_thought: { type: DataTypes.TEXT, allowNull: true },
    analysis_updated_at: { type: DataTypes.DATE(3), allowNull: true },
    created_at: now,
    updated_at: now,
  });
  // Cursor pagination walks (user_id, created_at DESC, id DESC); filters narrow within a user.
  await qi.addIndex('diaries', ['user_id', 'created_at', 'id'], { name: 'diaries_user_created_idx' });
  await qi.addIndex('diaries', ['user_id', 'emotion_status', 'created_at'], { name: 'diaries_user_emotion_idx' });
  await qi.addIndex('diaries', ['user_id', 'analysis_status', 'created_at'], { name: 'diaries_user_analysis_idx' });

  await qi.createTable('reports', {
    id: { type: DataTypes.BIGINT.UNSIGNED, autoIncrement: true, primaryKey: true },
    user_id: {
      type: DataTypes.BIGINT.UNSIGNED,
      allowNull: false,
      references: { model: 'users', key: 'id' },
      onDelete: 'CASCADE',
      onUpdate: 'CASCADE',
    },
    period_start: { type: DataTypes.DATE(3), allowNull: false },
    period_end: { type: DataTypes.DATE(3), allowNull: false },
    summary: { type: DataTypes.TEXT('long'), allowNull: false },
    created_at: now,
    updated_at: now,
  });
  await qi.addIndex('reports', ['user_id', 'created_at', 'id'], { name: 'reports_user_created_idx' });

  await qi.createTable('diary_report_links', {
    report_id: {
      type: DataTypes.BIGINT.UNSIGNED,
      primaryKey: true,
      references: { model: 'reports', key: 'id' },
      onDelete: 'CASCADE',
      onUpdate: 'CASCADE',
    },
    diary_id: {
      type: DataTypes.BIGINT.UNSIGNED,
      primaryKey: true,
      references: { model: 'diaries', key: 'id' },
      onDelete: 'CASCADE',
      onUpdate: 'CASCADE',
    },
  });
  await qi.addIndex('diary_report_links', ['diary_id'], { name: 'diary_report_links_diary_idx' });
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.dropTable('diary_report_links');
  await qi.dropTable('reports');
  await qi.dropTable('diaries');
}
