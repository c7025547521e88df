/** What the users routes need from storage. Usernames are compared exactly (case, spaces). */
export interface UsersStore {
  /** false when the username is taken (decided by the database's unique key). */
  createUser(username: string, passwordHash: string): Promise<boolean>;
  /** In the order the users were created. */
  listUsernames(): Promise<string[]>;
  /** false when there is no such user. */
  deleteUser(username: string): Promise<boolean>;
  getPasswordHash(username: string): Promise<string | undefined>;
  /** A real read; rejects when the database cannot be read. */
  checkReadable(): Promise<void>;
}
