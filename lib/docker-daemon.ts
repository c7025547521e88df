/**
 * The hosts' Docker engine settings, which user data writes before the engine first starts.
 * Pure data: user data serialises it, tests compare against it.
 *
 * - The log defaults (lib/host-logging.ts).
 * - No userland proxy. By default the engine starts a `docker-proxy` process for every
 *   published port and copies each connection's bytes through it. Every request the
 *   orchestrator passes to a replica (at `127.0.0.1:<port>`) would cross that process. Without
 *   it the engine publishes a port with NAT rules alone: the kernel forwards the packets, and
 *   `127.0.0.1` still reaches the replica (the engine then sets `route_localnet` on its bridge).
 *   Measured on one 2-core machine, the orchestrator in front of two acts containers under wrk
 *   (`npm run bench -- docker`, docs/performance.md "Docker replicas"): 2,954 → 7,217 req/s
 *   through the front door, the orchestrator's CPU 181 → 105 µs per request, and a container
 *   replacement 1,145 → 991 ms (the engine no longer starts and stops a proxy process). Each
 *   `docker-proxy` also held about 4 MB outside the replica's cgroup.
 */
import { DOCKER_LOG_DEFAULTS } from './host-logging';

export const DOCKER_DAEMON_CONFIG_PATH = '/etc/docker/daemon.json';

export const DOCKER_DAEMON_CONFIG = {
  ...DOCKER_LOG_DEFAULTS,
  'userland-proxy': false,
} as const;
