import { Op, UniqueConstraintError, type Sequelize, type WhereOptions } from 'sequelize';
import { primaryReads, type StaleTolerantReads } from '../../kernel/replica-reads.js';
import type { Role, SqlModels, UserRow, UserStatus } from '../../models/sql/index.js';

export type SocialProvider = 'google' | 'kakao' | 'naver';

export interface User {
  id: string;
  email: string | null;
  username: string;
  passwordHash: string | null;
  nickname: string;
  profileImageUrl: string | null;
  role: Role;
  status: UserStatus;
  isPremium: boolean;
  emailVerifiedAt: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  email: string | null;
  username: string;
  passwordHash: string | null;
  nickname: string;
  status: UserStatus;
  emailVerifiedAt?: Date | null;
}

export interface UserListFilter {
  status?: UserStatus;
  role?: Role;
  isPremium?: boolean;
  /** Prefix of email, username or nickname. */
  q?: string;
  /** Only users with an id below this one (cursor pagination, newest first). */
  beforeId?: string;
  limit: number;
}

/** Which unique key a write collided with. */
export class DuplicateUserError extends Error {
  constructor(readonly field: 'email' | 'username' | 'provider_account' | 'provider') {
    super(`duplicate ${field}`);
  }
}

const toUser = (row: UserRow): User => {
  const u = row.get({ plain: true }) as User;
  return { ...u, id: String(u.id), isPremium: Boolean(u.isPremium) };
};

const likePrefix = (text: string) => `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function duplicateField(err: UniqueConstraintError): DuplicateUserError['field'] {
  const text = `${err.message} ${JSON.stringify(err.fields ?? {})} ${String((err.parent as { sqlMessage?: string } | undefined)?.sqlMessage ?? '')}`;
  if (text.includes('users_email_unique')) return 'email';
  if (text.includes('users_username_unique')) return 'username';
  if (text.includes('user_auth_provider_social_unique')) return 'provider_account';
  return 'provider';
}

/**
 * Accounts and their social logins in MariaDB. Emails are stored lower-cased; usernames keep their
 * case and compare case-insensitively through the column collation.
 */
export function createUserRepository(sequelize: Sequelize, models: SqlModels, reads: StaleTolerantReads<SqlModels> = primaryReads({ sequelize, models })) {
  const { User: UserModel, AuthProvider, UserAuthentication } = models;
  const providerIds = new Map<string, number>();

  async function providerId(name: string): Promise<number> {
    const cached = providerIds.get(name);
    if (cached !== undefined) return cached;
    const row = await AuthProvider.findOne({ where: { name } });
    if (!row) throw new Error(`auth provider ${name} is not seeded`);
    providerIds.set(name, Number(row.id));
    return Number(row.id);
  }

  const repo = {
    async findById(userId: string): Promise<User | null> {
      const row = await UserModel.findByPk(userId);
      return row ? toUser(row) : null;
    },

    async findByEmail(email: string): Promise<User | null> {
      const row = await UserModel.findOne({ where: { email: email.toLowerCase() } });
      return row ? toUser(row) : null;
    },

    async findByUsername(username: string): Promise<User | null> {
      const row = await UserModel.findOne({ where: { username } });
      return row ? toUser(row) : null;
    },

    /** Email when it contains `@` (usernames cannot), otherwise username. */
    async findByLogin(identifier: string): Promise<User | null> {
      return identifier.includes('@') ? repo.findByEmail(identifier) : repo.findByUsername(identifier);
    },

    /** Inserts an account, with its first social login when given (one transaction). */
    async create(user: NewUser, social?: { provider: SocialProvider; socialId: string; email: string | null }): Promise<User> {
      try {
        const id = await sequelize.transaction(async (transaction) => {
          const row = await UserModel.create({ ...user, email: user.email?.toLowerCase() ?? null }, { transaction });
          if (social) {
            await UserAuthentication.create(
              { userId: String(row.id), providerId: await providerId(social.provider), socialId: social.socialId, email: social.email },
              { transaction },
            );
          }
          return String(row.id);
        });
        return (await repo.findById(id))!;
      } catch (err) {
        if (err instanceof UniqueConstraintError) throw new DuplicateUserError(duplicateField(err));
        throw err;
      }
    },

    /** Deletes WAITING accounts created before `olderThan` holding this email or username (abandoned sign-ups). */
    async deleteAbandoned(email: string, username: string, olderThan: Date): Promise<number> {
      return UserModel.destroy({
        where: { status: 'WAITING', createdAt: { [Op.lt]: olderThan }, [Op.or]: [{ email: email.toLowerCase() }, { username }] },
      });
    },

    /**
     * Deletes the account holding this email when it never proved it (WAITING, not verified) and has
     * no social login; returns its id, or null when there is no such account. The row is locked so a
     * verification landing at the same time either wins or finds the account gone.
     */
    async deleteUnverifiedHolder(email: string): Promise<string | null> {
      return sequelize.transaction(async (transaction) => {
        const where = { email: email.toLowerCase(), status: 'WAITING' as const, emailVerifiedAt: null };
        const row = await UserModel.findOne({ where, transaction, lock: transaction.LOCK.UPDATE });
        if (!row || (await UserAuthentication.count({ where: { userId: row.id }, transaction })) > 0) return null;
        await row.destroy({ transaction });
        return String(row.id);
      });
    },

    async update(userId: string, changes: Partial<Pick<User, 'nickname' | 'profileImageUrl' | 'passwordHash' | 'status' | 'role' | 'isPremium' | 'emailVerifiedAt' | 'lastLoginAt'>>): Promise<boolean> {
      const [count] = await UserModel.update(changes, { where: { id: userId } });
      return count > 0;
    },

    async delete(userId: string): Promise<boolean> {
      return (await UserModel.destroy({ where: { id: userId } })) > 0;
    },

    async findBySocial(provider: SocialProvider, socialId: string): Promise<User | null> {
      const link = await UserAuthentication.findOne({ where: { providerId: await providerId(provider), socialId } });
      return link ? repo.findById(String(link.userId)) : null;
    },

    async providersOf(userId: string): Promise<SocialProvider[]> {
      const rows = await UserAuthentication.findAll({ where: { userId }, include: [{ model: AuthProvider, attributes: ['name'] }] });
      return rows
        .map((r) => (r.get({ plain: true }) as { AuthProvider?: { name: string } }).AuthProvider?.name)
        .filter((n): n is SocialProvider => n === 'google' || n === 'kakao' || n === 'naver')
        .sort();
    },

    async linkProvider(userId: string, provider: SocialProvider, socialId: string, email: string | null): Promise<void> {
      try {
        await UserAuthentication.create({ userId, providerId: await providerId(provider), socialId, email });
      } catch (err) {
        if (err instanceof UniqueConstraintError) throw new DuplicateUserError(duplicateField(err));
        throw err;
      }
    },

    /**
     * Removes a social login unless it is the account's last way in (no password, no other provider).
     * The user row is locked so two concurrent unlinks cannot both pass the check.
     */
    async unlinkProvider(userId: string, provider: SocialProvider): Promise<'unlinked' | 'not_linked' | 'last_method'> {
      const pid = await providerId(provider);
      return sequelize.transaction(async (transaction) => {
        const user = await UserModel.findOne({ where: { id: userId }, transaction, lock: transaction.LOCK.UPDATE });
        if (!user) return 'not_linked';
        const links = await UserAuthentication.findAll({ where: { userId }, transaction });
        if (!links.some((l) => Number(l.providerId) === pid)) return 'not_linked';
        if (!user.passwordHash && links.length <= 1) return 'last_method';
        await UserAuthentication.destroy({ where: { userId, providerId: pid }, transaction });
        return 'unlinked';
      });
    },

    /**
     * Newest first, by id; `beforeId` continues after the last page. The administrators' list:
     * may be read from the replica, with `readerId`'s own changes in it (others' sign-ups and
     * profile edits may show a moment later). Logins and access checks never read from there.
     */
    async list(readerId: string, filter: UserListFilter): Promise<User[]> {
      const where: WhereOptions[] = [];
      if (filter.status) where.push({ status: filter.status });
      if (filter.role) where.push({ role: filter.role });
      if (filter.isPremium !== undefined) where.push({ isPremium: filter.isPremium });
      if (filter.beforeId) where.push({ id: { [Op.lt]: filter.beforeId } });
      if (filter.q) {
        const prefix = likePrefix(filter.q);
        where.push({ [Op.or]: [{ email: { [Op.like]: prefix.toLowerCase() } }, { username: { [Op.like]: prefix } }, { nickname: { [Op.like]: prefix } }] });
      }
      const rows = await reads.read(readerId, (db) => db.models.User.findAll({ where: { [Op.and]: where }, order: [['id', 'DESC']], limit: filter.limit, transaction: db.transaction }));
      return rows.map(toUser);
    },
  };
  return repo;
}

export type UserRepository = ReturnType<typeof createUserRepository>;
