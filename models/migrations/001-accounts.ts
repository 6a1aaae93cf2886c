import { DataTypes, literal, type QueryInterface } from 'sequelize';

const now = { type: DataTypes.DATE(3), allowNull: false, defaultValue: literal('CURRENT_TIMESTAMP(3)') };

export async function up(qi: QueryInterface): Promise<void> {
  await qi.createTable('users', {
    id: { type: DataTypes.BIGINT.UNSIGNED, autoIncrement: true, primaryKey: true },
    email: { type: DataTypes.STRING(254), allowNull: true },
    username: { type: DataTypes.STRING(32), allowNull: false },
    password_hash: { type: DataTypes.STRING(255), allowNull: true },
    nickname: { type: DataTypes.STRING(64), allowNull: false },
    profile_image_url: { type: DataTypes.STRING(2048), allowNull: true },
    role: { type: DataTypes.ENUM('USER', 'ADMIN'), allowNull: false, defaultValue: 'USER' },
    status: { type: DataTypes.ENUM('WAITING', 'ACTIVE', 'BLOCKED'), allowNull: false, defaultValue: 'WAITING' },
    is_premium: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    email_verified_at: { type: DataTypes.DATE(3), allowNull: true },
    last_login_at: { type: DataTypes.DATE(3), allowNull: true },
    created_at: now,
    updated_at: now,
  });
  // Column-level `unique` is ignored by createTable on MariaDB; unique keys are explicit indexes.
  await qi.addIndex('users', ['email'], { unique: true, name: 'users_email_unique' });
  await qi.addIndex('users', ['username'], { unique: true, name: 'users_username_unique' });
  await qi.addIndex('users', ['created_at', 'id'], { name: 'users_created_idx' });

  await qi.createTable('auth_providers', {
    id: { type: DataTypes.SMALLINT.UNSIGNED, autoIncrement: true, primaryKey: true },
    name: { type: DataTypes.STRING(32), allowNull: false },
    created_at: now,
  });

  await qi.addIndex('auth_providers', ['name'], { unique: true, name: 'auth_providers_name_unique' });

  await qi.createTable('user_authentications', {
    id: { type: DataTypes.BIGINT.UNSIGNED, autoIncrement: true, primaryKey: true },
    user_id: {
      type: DataTypes.BIGINT.UNSIGNED,
      allowNull: false,
      references: { model: 'users', key: 'id' },
      onDelete: 'CASCADE',
      onUpdate: 'CASCADE',
    },
    provider_id: {
      type: DataTypes.SMALLINT.UNSIGNED,
      allowNull: false,
      // A provider that still has linked accounts cannot be deleted.
      references: { model: 'auth_providers', key: 'id' },
      onDelete: 'RESTRICT',
      onUpdate: 'CASCADE',
    },
    social_id: { type: DataTypes.STRING(191), allowNull: false },
    email: { type: DataTypes.STRING(254), allowNull: true },
    created_at: now,
  });
  await qi.addIndex('user_authentications', ['provider_id', 'social_id'], { unique: true, name: 'user_auth_provider_social_unique' });
  await qi.addIndex('user_authentications', ['user_id', 'provider_id'], { unique: true, name: 'user_auth_user_provider_unique' });
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.dropTable('user_authentications');
  await qi.dropTable('auth_providers');
  await qi.dropTable('users');
}
