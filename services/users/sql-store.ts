import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../shared/sql-errors';
import { asText } from '../shared/sql-values';
import type { UsersDatabase } from './schema';
import type { UsersStore } from './store';

export class SqlUsersStore implements UsersStore {
  constructor(private readonly db: Kysely<UsersDatabase>) {}

  async createUser(username: string, passwordHash: string): Promise<boolean> {
    try {
      await this.db.insertInto('users').values({ username, password_hash: passwordHash }).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async listUsernames(): Promise<string[]> {
    const rows = await this.db.selectFrom('users').select('username').orderBy('seq').execute();
    return rows.map((row) => asText(row.username));
  }

  async deleteUser(username: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('username', '=', username).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async getPasswordHash(username: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select('password_hash')
      .where('username', '=', username)
      .executeTakeFirst();
    return row?.password_hash;
  }

  async checkReadable(): Promise<void> {
    await this.db.selectFrom('users').select('seq').limit(1).execute();
  }
}
