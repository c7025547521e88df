/** A throw-away MySQL database per suite, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { MYSQL_URL_BASE } from '../support/requirements';

export interface ScratchDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

export function scratchMysqlDatabase(label: string): ScratchDatabase {
  const name = `sla_${label}_${randomBytes(4).toString('hex')}`;
  const base = MYSQL_URL_BASE.replace(/\/+$/, '');
  return {
    name,
    url: `${base}/${name}`,
    drop: async () => {
      const conn = await createConnection({ uri: base });
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}
