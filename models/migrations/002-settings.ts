import { DataTypes, literal, type QueryInterface } from 'sequelize';

const now = { type: DataTypes.DATE(3), allowNull: false, defaultValue: literal('CURRENT_TIMESTAMP(3)') };

export async function up(qi: QueryInterface): Promise<void> {
  await qi.createTable('settings_options', {
    id: { type: DataTypes.INTEGER.UNSIGNED, autoIncrement: true, primaryKey: true },
    key: { type: DataTypes.STRING(64), allowNull: false },
    default_value: { type: DataTypes.TEXT, allowNull: false },
    data_type: { type: DataTypes.ENUM('STRING', 'BOOLEAN', 'NUMBER', 'JSON'), allowNull: false },
    description: { type: DataTypes.STRING(500), allowNull: false, defaultValue: '' },
    user_editable: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    created_at: now,
    updated_at: now,
  });

  await qi.addIndex('settings_options', ['key'], { unique: true, name: 'settings_options_key_unique' });

  await qi.createTable('user_custom_settings', {
    user_id: {
      type: DataTypes.BIGINT.UNSIGNED,
      primaryKey: true,
      references: { model: 'users', key: 'id' },
      onDelete: 'CASCADE',
      onUpdate: 'CASCADE',
    },
    option_id: {
      type: DataTypes.INTEGER.UNSIGNED,
      primaryKey: true,
      references: { model: 'settings_options', key: 'id' },
      onDelete: 'CASCADE',
      onUpdate: 'CASCADE',
    },
    value: { type: DataTypes.TEXT, allowNull: false },
    updated_at: now,
  });
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.dropTable('user_custom_settings');
  await qi.dropTable('settings_options');
}
