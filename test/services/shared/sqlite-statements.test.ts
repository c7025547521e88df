import BetterSqlite3 from 'better-sqlite3';
import { withStatementCache } from '../../../services/shared/sqlite-statements';

describe('withStatementCache', () => {
  test('one SQL text is prepared once, and its statement keeps giving current answers', () => {
    const sqlite = new BetterSqlite3(':memory:');
    const prepare = jest.spyOn(sqlite, 'prepare');
    const db = withStatementCache(sqlite);
    db.prepare('CREATE TABLE t (v INTEGER)').run([]);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    insert.run([1]);
    db.prepare('INSERT INTO t (v) VALUES (?)').run([2]);
    expect(db.prepare('INSERT INTO t (v) VALUES (?)')).toBe(insert);
    expect(db.prepare('SELECT sum(v) AS s FROM t').all([])).toEqual([{ s: 3 }]);
    db.prepare('INSERT INTO t (v) VALUES (?)').run([4]);
    expect(db.prepare('SELECT sum(v) AS s FROM t').all([])).toEqual([{ s: 7 }]);
    expect(prepare).toHaveBeenCalledTimes(3);
    db.close();
    expect(sqlite.open).toBe(false);
  });

  test('a statement that failed can run again', () => {
    const db = withStatementCache(new BetterSqlite3(':memory:'));
    db.prepare('CREATE TABLE u (v INTEGER UNIQUE)').run([]);
    db.prepare('INSERT INTO u (v) VALUES (?)').run([1]);
    expect(() => db.prepare('INSERT INTO u (v) VALUES (?)').run([1])).toThrow(/UNIQUE/);
    db.prepare('INSERT INTO u (v) VALUES (?)').run([2]);
    expect(db.prepare('SELECT count(*) AS n FROM u').all([])).toEqual([{ n: 2 }]);
    db.close();
  });

  test('beyond the bound the oldest statement is dropped, not kept forever', () => {
    const sqlite = new BetterSqlite3(':memory:');
    const prepare = jest.spyOn(sqlite, 'prepare');
    const db = withStatementCache(sqlite, 2);
    db.prepare('SELECT 1');
    db.prepare('SELECT 2');
    db.prepare('SELECT 3');
    db.prepare('SELECT 3');
    db.prepare('SELECT 1');
    expect(prepare.mock.calls.map(([sql]) => sql)).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 1']);
    db.close();
  });
});
