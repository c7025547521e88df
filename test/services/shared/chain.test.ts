import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { chain } from '../../../services/shared/chain';

/** The chained middleware must behave exactly as the same middleware as separate layers. */
describe('chain: several middleware as one router layer', () => {
  const build = (handlers: RequestHandler[], chained: boolean) => {
    const app = express();
    if (chained) app.use(chain(handlers));
    else for (const handler of handlers) app.use(handler);
    app.get('/end', (_req, res) => void res.status(200).json({ reached: 'route' }));
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(418).json({ error: err.message });
    });
    return app;
  };
  const tag =
    (name: string): RequestHandler =>
    (_req, res, next) => {
      res.append('x-seen', name);
      next();
    };
  const cases: [string, RequestHandler[]][] = [
    ['all pass on, in order', [tag('a'), tag('b'), tag('c')]],
    ['one answers: the rest never run', [tag('a'), (_req, res) => void res.status(500).json({}), tag('c')]],
    [
      'one passes an error: the rest never run',
      [tag('a'), (_req, _res, next) => next(new Error('no')), tag('c')],
    ],
    [
      'one throws: the error handler answers',
      [
        tag('a'),
        () => {
          throw new Error('thrown');
        },
        tag('c'),
      ],
    ],
    ['a single handler', [tag('only')]],
  ];
  test.each(cases)('%s', async (_name, handlers) => {
    const chained = await request(build(handlers, true)).get('/end');
    const separate = await request(build(handlers, false)).get('/end');
    expect({ status: chained.status, seen: chained.headers['x-seen'], body: chained.text }).toEqual({
      status: separate.status,
      seen: separate.headers['x-seen'],
      body: separate.text,
    });
  });

  test('the chain of the cases above can tell them apart (the comparison is not vacuous)', async () => {
    const passed = await request(build(cases[0]![1], true)).get('/end');
    expect(passed.status).toBe(200);
    expect(passed.headers['x-seen']).toBe('a, b, c');
    const failed = await request(build(cases[2]![1], true)).get('/end');
    expect([failed.status, failed.headers['x-seen']]).toEqual([418, 'a']);
  });
});
