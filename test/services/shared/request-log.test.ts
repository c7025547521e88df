import request from 'supertest';
import type { Logger, LogFields } from '../../../common/log';
import { createServiceApp } from '../../../services/shared/service-app';

function recordingLogger(): Logger & { lines: { msg: string; fields?: LogFields }[] } {
  const lines: { msg: string; fields?: LogFields }[] = [];
  const record = (msg: string, fields?: LogFields) => void lines.push({ msg, fields });
  return { lines, debug: record, info: record, warn: record, error: record };
}

describe('the request log', () => {
  const appFor = (logger: Logger, logsRequests?: boolean) =>
    createServiceApp({
      routes: [{ path: '/api/v1/things', methods: { GET: (_req, res) => void res.status(200).json([]) } }],
      logger,
      checkDatabase: async () => {},
      logsRequests,
    }).app;

  test('writes one line per finished request, without the query string', async () => {
    const logger = recordingLogger();
    await request(appFor(logger)).get('/api/v1/things?name=secret').expect(200);
    await request(appFor(logger)).get('/api/v1/nothing').expect(404);
    const requests = logger.lines.filter((line) => line.msg === 'request');
    expect(requests.map((line) => [line.fields?.method, line.fields?.path, line.fields?.status])).toEqual([
      ['GET', '/api/v1/things', 200],
      ['GET', '/api/v1/nothing', 404],
    ]);
    expect(JSON.stringify(requests)).not.toContain('secret');
  });

  test('is left out when the service says so (its log level drops debug lines)', async () => {
    const logger = recordingLogger();
    await request(appFor(logger, false)).get('/api/v1/things').expect(200);
    expect(logger.lines.filter((line) => line.msg === 'request')).toEqual([]);
  });
});
