'use strict';
/* global process, require, __filename, setTimeout */
/**
 * Preloaded (`--require`) into every replica the process runtime starts. The runtime hands the
 * replica the read end of a pipe whose write end only the orchestrator holds: when the
 * orchestrator is gone, however it died (SIGKILL included), the pipe reads end-of-file and the
 * replica shuts down as on SIGTERM, so no replica outlives the orchestrator that started it.
 */
const fd = Number(process.env.SELFIELESS_LIFELINE_FD);
// Processes the replica starts in turn must not mistake one of their own descriptors for it.
delete process.env.SELFIELESS_LIFELINE_FD;
if (process.env.NODE_OPTIONS) {
  process.env.NODE_OPTIONS = process.env.NODE_OPTIONS.replace(`--require "${__filename}"`, '').trim();
}

if (Number.isInteger(fd) && fd > 2) {
  // A preload given to `node --require` is CommonJS by nature.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const net = require('node:net');
  const lifeline = new net.Socket({ fd, readable: true, writable: false });
  // It must never be what keeps the replica running.
  lifeline.unref();
  lifeline.resume();
  let leaving = false;
  const leave = () => {
    if (leaving) return;
    leaving = true;
    process.stderr.write('orchestrator gone (lifeline closed): shutting down\n');
    // The service's own SIGTERM handling finishes in-flight requests; this bounds it.
    setTimeout(() => process.exit(1), 5000).unref();
    process.kill(process.pid, 'SIGTERM');
  };
  lifeline.once('end', leave);
  lifeline.once('close', leave);
  lifeline.once('error', leave);
}
