/** `npm start`'s progress lines while replicas come up, and the ready banner. */
import type { PoolStatus } from '../../orchestrator/admin';
import type { Orchestrator } from '../../orchestrator/orchestrator';

/** Prints each replica's change of health until every pool's first replica is in rotation. */
export function reportProgress(
  orchestrator: Orchestrator,
  say: (line: string) => void,
  onReady: () => void,
): () => void {
  const seen = new Map<string, string>();
  let ready = false;
  const timer = setInterval(() => {
    const pools: PoolStatus[] = orchestrator.status().pools;
    for (const pool of pools) {
      for (const r of pool.replicas) {
        const key = `${pool.name}:${r.port}`;
        const now = r.inRotation ? 'ready' : r.state;
        if (seen.get(key) !== now) {
          seen.set(key, now);
          say(`  ${pool.name.padEnd(5)} :${r.port}  ${now}${now === 'ready' ? '' : '…'}`);
        }
      }
    }
    if (!ready && pools.every((p) => p.replicas.some((r) => r.inRotation))) {
      ready = true;
      onReady();
    }
  }, 200);
  timer.unref();
  return () => clearInterval(timer);
}
