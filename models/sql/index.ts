import {
  DataTypes,
  type CreationOptional,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  type Model,
  type ModelStatic,
  type Sequelize,
} from 'sequelize';
import { ANALYSIS_STATUSES, EMOTION_STATUSES, type AnalysisStatus, type EmotionStatus } from '../../kernel/contracts/statuses.js';

/**
 * Sequelize models for the MariaDB tables. They are defined per Sequelize instance (not as global
 * classes) so several composition roots can live in one process, e.g. in tests.
 * The schema itself is owned by the migrations; these definitions must match them.
 */

export type Role = 'USER' | 'ADMIN';
export type UserStatus = 'WAITING' | 'ACTIVE' | 'BLOCKED';
export type { AnalysisStatus, EmotionStatus } from '../../kernel/contracts/statuses.js';
export type SettingDataType = 'STRING' | 'BOOLEAN' | 'NUMBER' | 'JSON';

export interface UserRow extends Model<InferAttributes<UserRow>, InferCreationAttributes<UserRow>> {
  id: CreationOptional<string>;
  email: string | null;
  username: string;
  passwordHash: string | null;
  nickname: string;
  profileImageUrl: CreationOptional<string | null>;
  role: CreationOptional<Role>;
  status: CreationOptional<UserStatus>;
  isPremium: CreationOptional<boolean>;
  emailVerifiedAt: CreationOptional<Date | null>;
  lastLoginAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export interface AuthProviderRow extends Model<InferAttributes<AuthProviderRow>, InferCreationAttributes<AuthProviderRow>> {
  id: CreationOptional<number>;
  name: string;
  createdAt: CreationOptional<Date>;
}

export interface UserAuthenticationRow
  extends Model<InferAttributes<UserAuthenticationRow>, InferCreationAttributes<UserAuthenticationRow>> {
  id: CreationOptional<string>;
  userId: ForeignKey<string>;
  providerId: ForeignKey<number>;
  socialId: string;
  email: string | null;
  createdAt: CreationOptional<Date>;
}

export interface SettingsOptionRow extends Model<InferAttributes<SettingsOptionRow>, InferCreationAttributes<SettingsOptionRow>> {
  id: CreationOptional<number>;
  key: string;
  defaultValue: string;
  dataType: SettingDataType;
  description: CreationOptional<string>;
  userEditable: CreationOptional<boolean>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export interface UserCustomSettingRow
  extends Model<InferAttributes<UserCustomSettingRow>, InferCreationAttributes<UserCustomSettingRow>> {
  userId: string;
  optionId: number;
  value: string;
  updatedAt: CreationOptional<Date>;
}

export interface DiaryRow extends Model<InferAttributes<DiaryRow>, InferCreationAttributes<DiaryRow>> {
  id: CreationOptional<string>;
  userId: string;
  title: string | null;
  content: string;
  revision: CreationOptional<number>;
  analysisStatus: CreationOptional<AnalysisStatus>;
  analyzedRevision: CreationOptional<number | null>;
  statusRevision: CreationOptional<number>;
  emotionStatus: CreationOptional<EmotionStatus | null>;
  isNegative: CreationOptional<boolean | null>;
  alternativeThought: CreationOptional<string | null>;
  analysisUpdatedAt: CreationOptional<Date | null>;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export interface ReportRow extends Model<InferAttributes<ReportRow>, InferCreationAttributes<ReportRow>> {
  id: CreationOptional<string>;
  userId: string;
  periodStart: Date;
  periodEnd: Date;
  summary: string;
  createdAt: CreationOptional<Date>;
  updatedAt: CreationOptional<Date>;
}

export interface DiaryReportLinkRow extends Model<InferAttributes<DiaryReportLinkRow>, InferCreationAttributes<DiaryReportLinkRow>> {
  reportId: string;
  diaryId: string;
}

export interface OutboxEventRow extends Model<InferAttributes<OutboxEventRow>, InferCreationAttributes<OutboxEventRow>> {
  id: CreationOptional<string>;
  eventId: string;
  topic: string;
  messageKey: string;
  payload: string;
  headers: string;
  status: CreationOptional<'PENDING' | 'SENT'>;
  attempts: CreationOptional<number>;
  lastError: CreationOptional<string | null>;
  availableAt: CreationOptional<Date>;
  createdAt: CreationOptional<Date>;
  sentAt: CreationOptional<Date | null>;
}

export interface SqlModels {
  User: ModelStatic<UserRow>;
  AuthProvider: ModelStatic<AuthProviderRow>;
  UserAuthentication: ModelStatic<UserAuthenticationRow>;
  SettingsOption: ModelStatic<SettingsOptionRow>;
  UserCustomSetting: ModelStatic<UserCustomSettingRow>;
  Diary: ModelStatic<DiaryRow>;
  Report: ModelStatic<ReportRow>;
  DiaryReportLink: ModelStatic<DiaryReportLinkRow>;
  OutboxEvent: ModelStatic<OutboxEventRow>;
}

const id = { type: DataTypes.BIGINT.UNSIGNED, autoIncrement: true, primaryKey: true };
const fk = { type: DataTypes.BIGINT.UNSIGNED, allowNull: false };

export function defineSqlModels(sequelize: Sequelize): SqlModels {
  const User = sequelize.define<UserRow>(
    'User',
    {
      id,
      email: { type: DataTypes.STRING(254), allowNull: true },
      username: { type: DataTypes.STRING(32), allowNull: false },
      passwordHash: { type: DataTypes.STRING(255), allowNull: true },
      nickname: { type: DataTypes.STRING(64), allowNull: false },
      profileImageUrl: { type: DataTypes.STRING(2048), allowNull: true },
      role: { type: DataTypes.ENUM('USER', 'ADMIN'), allowNull: false, defaultValue: 'USER' },
      status: { type: DataTypes.ENUM('WAITING', 'ACTIVE', 'BLOCKED'), allowNull: false, defaultValue: 'WAITING' },
      isPremium: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      emailVerifiedAt: { type: DataTypes.DATE(3), allowNull: true },
      lastLoginAt: { type: DataTypes.DATE(3), allowNull: true },
      createdAt: DataTypes.DATE(3),
      updatedAt: DataTypes.DATE(3),
    },
    { tableName: 'users' },
  );

  const AuthProvider = sequelize.define<AuthProviderRow>(
    'AuthProvider',
    {
      id: { type: DataTypes.SMALLINT.UNSIGNED, autoIncrement: true, primaryKey: true },
      name: { type: DataTypes.STRING(32), allowNull: false },
      createdAt: DataTypes.DATE(3),
    },
    { tableName: 'auth_providers', updatedAt: false },
  );

  const UserAuthentication = sequelize.define<UserAuthenticationRow>(
    'UserAuthentication',
    {
      id,
      userId: fk,
      providerId: { type: DataTypes.SMALLINT.UNSIGNED, allowNull: false },
      socialId: { type: DataTypes.STRING(191), allowNull: false },
      email: { type: DataTypes.STRING(254), allowNull: true },
      createdAt: DataTypes.DATE(3),
    },
    { tableName: 'user_authentications', updatedAt: false },
  );

  const SettingsOption = sequelize.define<SettingsOptionRow>(
    'SettingsOption',
    {
      id: { type: DataTypes.INTEGER.UNSIGNED, autoIncrement: true, primaryKey: true },
      key: { type: DataTypes.STRING(64), allowNull: false },
      defaultValue: { type: DataTypes.TEXT, allowNull: false },
      dataType: { type: DataTypes.ENUM('STRING', 'BOOLEAN', 'NUMBER', 'JSON'), allowNull: false },
      description: { type: DataTypes.STRING(500), allowNull: false, defaultValue: '' },
      userEditable: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
      createdAt: DataTypes.DATE(3),
      updatedAt: DataTypes.DATE(3),
    },
    { tableName: 'settings_options' },
  );

  const UserCustomSetting = sequelize.define<UserCustomSettingRow>(
    'UserCustomSetting',
    {
      userId: { type: DataTypes.BIGINT.UNSIGNED, primaryKey: true },
      optionId: { type: DataTypes.INTEGER.UNSIGNED, primaryKey: true },
      value: { type: DataTypes.TEXT, allowNull: false },
      updatedAt: DataTypes.DATE(3),
    },
    { tableName: 'user_custom_settings', createdAt: false },
  );

  const Diary = sequelize.define<DiaryRow>(
    'Diary',
    {
      id,
      userId: fk,
      title: { type: DataTypes.STRING(255), allowNull: true },
      content: { type: DataTypes.TEXT('medium'), allowNull: false },
      revision: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 1 },
      analysisStatus: {
        type: DataTypes.ENUM(...ANALYSIS_STATUSES),
        allowNull: false,
        defaultValue: 'PENDING',
      },
      analyzedRevision: { type: DataTypes.INTEGER.UNSIGNED, allowNull: true },
      statusRevision: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 1 },
      emotionStatus: { type: DataTypes.ENUM(...EMOTION_STATUSES), allowNull: true },
      isNegative: { type: DataTypes.BOOLEAN, allowNull: true },
      alternativeThought: { type: DataTypes.TEXT, allowNull: true },
      analysisUpdatedAt: { type: DataTypes.DATE(3), allowNull: true },
      createdAt: DataTypes.DATE(3),
      updatedAt: DataTypes.DATE(3),
    },
    { tableName: 'diaries' },
  );

  const Report = sequelize.define<ReportRow>(
    'Report',
    {
      id,
      userId: fk,
      periodStart: { type: DataTypes.DATE(3), allowNull: false },
      periodEnd: { type: DataTypes.DATE(3), allowNull: false },
      summary: { type: DataTypes.TEXT('long'), allowNull: false },
      createdAt: DataTypes.DATE(3),
      updatedAt: DataTypes.DATE(3),
    },
    { tableName: 'reports' },
  );

  const DiaryReportLink = sequelize.define<DiaryReportLinkRow>(
    'DiaryReportLink',
    {
      reportId: { type: DataTypes.BIGINT.UNSIGNED, primaryKey: true },
      diaryId: { type: DataTypes.BIGINT.UNSIGNED, primaryKey: true },
    },
    { tableName: 'diary_report_links', timestamps: false },
  );

  const OutboxEvent = sequelize.define<OutboxEventRow>(
    'OutboxEvent',
    {
      id,
      eventId: { type: DataTypes.CHAR(36), allowNull: false },
      topic: { type: DataTypes.STRING(249), allowNull: false },
      messageKey: { type: DataTypes.STRING(191), allowNull: false },
      payload: { type: DataTypes.TEXT('long'), allowNull: false },
      headers: { type: DataTypes.TEXT, allowNull: false },
      status: { type: DataTypes.ENUM('PENDING', 'SENT'), allowNull: false, defaultValue: 'PENDING' },
      attempts: { type: DataTypes.INTEGER.UNSIGNED, allowNull: false, defaultValue: 0 },
      lastError: { type: DataTypes.STRING(500), allowNull: true },
      availableAt: { type: DataTypes.DATE(3), allowNull: false, defaultValue: DataTypes.NOW },
      createdAt: DataTypes.DATE(3),
      sentAt: { type: DataTypes.DATE(3), allowNull: true },
    },
    { tableName: 'outbox_events', updatedAt: false },
  );

  User.hasMany(UserAuthentication, { foreignKey: 'userId', onDelete: 'CASCADE' });
  UserAuthentication.belongsTo(User, { foreignKey: 'userId' });
  UserAuthentication.belongsTo(AuthProvider, { foreignKey: 'providerId' });
  User.hasMany(Diary, { foreignKey: 'userId', onDelete: 'CASCADE' });
  UserCustomSetting.belongsTo(SettingsOption, { foreignKey: 'optionId' });

  return { User, AuthProvider, UserAuthentication, SettingsOption, UserCustomSetting, Diary, Report, DiaryReportLink, OutboxEvent };
}
