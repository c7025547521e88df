import type { Generated } from 'kysely';

export interface UsersTable {
  seq: Generated<number>;
  /** text on SQLite, VARBINARY on MySQL */
  username: string | Buffer;
  password_hash: string;
}

export interface UsersDatabase {
  users: UsersTable;
}
