import express from 'express';
import request from 'supertest';
import { errorHandler } from '../../../services/shared/error-handler';
import { silentLogger } from '../../../common/log';

function appThrowing(err: unknown) {
  const app = express();
  app.get('/x', () => {
    throw err;
  });
  app.use(errorHandler(silentLogger));
  return app;
}

describe('errors that mean the database is out of reach', () => {
  test.each([
    [
      'a refused connection (server down)',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
    [
      'a connection lost mid-query',
      Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }),
    ],
    ['a server shutting down', Object.assign(new Error('shutdown'), { code: 'ER_SERVER_SHUTDOWN' })],
  ])('%s answers 503 {} with Retry-After at once', async (_name, err) => {
    const res = await request(appThrowing(err)).get('/x');
    expect(res.status).toBe(503);
    expect(res.text).toBe('{}');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  test.each([
    ['a plain bug', new Error('undefined is not a function')],
    ['a query the database refused', Object.assign(new Error('syntax'), { code: 'ER_PARSE_ERROR' })],
  ])('%s is still 500 {}', async (_name, err) => {
    const res = await request(appThrowing(err)).get('/x');
    expect(res.status).toBe(500);
    expect(res.headers['retry-after']).toBeUndefined();
  });
});
