import { createLogger } from '../../common/log';
import { createLogger as orchestratorLogger } from '../../common/log';
import { createLogger as serviceLogger } from '../../common/log';

function linesOf(write: (sink: (line: string) => void) => void): Array<Record<string, unknown>> {
  const lines: string[] = [];
  write((line) => lines.push(line));
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('one JSON logger', () => {
  test('the orchestrator and the services write lines of the same shape', () => {
    const [fromOrchestrator] = linesOf((sink) =>
      orchestratorLogger('orchestrator', 'info', sink).info('started'),
    );
    const [fromService] = linesOf((sink) => serviceLogger('acts', 'info', sink).info('started'));
    expect(Object.keys(fromOrchestrator!)).toEqual(['time', 'level', 'component', 'msg']);
    expect(Object.keys(fromService!)).toEqual(Object.keys(fromOrchestrator!));
    expect(fromService).toMatchObject({ level: 'info', component: 'acts', msg: 'started' });
  });

  test('fields follow the fixed ones, and levels below the minimum are dropped', () => {
    const lines = linesOf((sink) => {
      const logger = createLogger('users', 'warn', sink);
      logger.info('ignored');
      logger.warn('slow', { ms: 12 });
    });
    expect(lines).toEqual([
      { time: expect.any(String), level: 'warn', component: 'users', msg: 'slow', ms: 12 },
    ]);
  });

  test('errors are written whatever the level', () => {
    const lines = linesOf((sink) => createLogger('acts', 'error', sink).error('failed', { reason: 'x' }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'failed', reason: 'x' });
  });
});
