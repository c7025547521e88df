// Stands in for `ssh2` in the orchestrator bundle. docker-modem requires it at load time for
// ssh:// Docker hosts; the orchestrator only talks to the local socket, and ssh2's optional
// native parts (cpu-features, its crypto addon) cannot live in a single-file bundle.
/* global module */
'use strict';

class Client {
  constructor() {
    throw new Error('Docker over SSH is not available in the orchestrator bundle; use the local socket');
  }
}

module.exports = { Client };
