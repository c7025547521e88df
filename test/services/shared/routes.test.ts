import express from 'express';
import request from 'supertest';
import { errorHandler } from '../../../services/shared/error-handler';
import { badRequest } from '../../../services/shared/http-error';
import { silentLogger } from '../../../common/log';
import { mountRoutes, type Route } from '../../../services/shared/routes';

/** One router layer per path must keep every answer the guard-plus-method layers gave. */
function appWith(routes: Route[]) {
  const app = express();
  mountRoutes(app, routes);
  app.use(errorHandler(silentLogger));
  return app;
}

describe('mountRoutes: one layer per path', () => {
  const seen: string[] = [];
  const app = appWith([
    {
      path: '/things/literal',
      methods: { POST: (req, res) => void res.status(201).json({ got: req.body as unknown }) },
    },
    {
      path: '/things/:id',
      methods: {
        GET: (req, res) => {
          seen.push(req.method);
          res.status(200).json({ id: req.params.id });
        },
        DELETE: async () => {
          await Promise.resolve();
          throw badRequest('async refusal');
        },
      },
    },
    {
      path: '/sync-throw',
      methods: {
        GET: () => {
          throw badRequest('sync refusal');
        },
      },
    },
  ]);

  test('a supported method reaches its handler with the path parameters', async () => {
    await request(app).get('/things/7').expect(200, '{"id":"7"}');
  });

  test('HEAD is answered by the GET handler, without a body', async () => {
    seen.length = 0;
    const res = await request(app).head('/things/7');
    expect(res.status).toBe(200);
    expect(res.text).toBeUndefined();
    expect(seen).toEqual(['HEAD']);
  });

  test('an unsupported method is 405 with Allow, and its body is never read', async () => {
    const res = await request(app).put('/things/7').type('json').send('{not json');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, DELETE, HEAD');
  });

  test('a literal path shadows a parameter path for every method', async () => {
    await request(app).get('/things/literal').expect(405);
    await request(app).delete('/things/literal').expect(405);
    await request(app).post('/things/literal').send({ a: 1 }).expect(201, '{"got":{"a":1}}');
  });

  test('a POST body that is not JSON is 400 before the handler runs', async () => {
    await request(app).post('/things/literal').type('json').send('{not json').expect(400, '{}');
  });

  test('errors thrown by handlers, synchronously or after an await, reach the error handler', async () => {
    await request(app).delete('/things/7').expect(400, '{}');
    await request(app).get('/sync-throw').expect(400, '{}');
  });
});
