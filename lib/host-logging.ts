/**
 * Where a host's logs live and how they reach CloudWatch Logs. Pure: the stack passes the log
 * group's name, tests pass strings.
 *
 * - The orchestrator's output goes to a file (the systemd unit appends stdout and stderr to it),
 *   bounded by logrotate with copytruncate, which the unit's append-mode descriptor survives.
 * - Replicas log through Docker's json-file driver, as the orchestrator creates them; the
 *   daemon's defaults add each container's name to every line (`attrs.tag`) and bound the
 *   containers the orchestrator does not create (the on-host database).
 * - The CloudWatch agent tails both. It ships from files, so a CloudWatch outage never stops a
 *   container from starting: the awslogs log driver's default (blocking) mode fails container
 *   starts when CloudWatch is unreachable, and its non-blocking mode drops lines instead. The
 *   orchestrator also sets json-file on its replicas, so a daemon default driver would not
 *   reach them anyway.
 */

/** Days CloudWatch Logs keeps the hosts' lines (the stack's log groups). */
export const LOG_RETENTION_DAYS = 14;

export const HOST_LOG_PATHS = {
  dir: '/var/log/selfieless',
  orchestrator: '/var/log/selfieless/orchestrator.log',
  /** Every container's json-file log, replicas and the on-host database alike. */
  containers: '/var/lib/docker/containers/*/*-json.log',
  agentConfig: '/etc/selfieless/cloudwatch-agent.json',
  logrotateConfig: '/etc/selfieless/logrotate.conf',
  logrotateService: '/etc/systemd/system/selfieless-logrotate.service',
  logrotateTimer: '/etc/systemd/system/selfieless-logrotate.timer',
} as const;

export const CLOUDWATCH_AGENT_CTL = '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl';

/** Stream names in the service's log group; the agent fills in `{instance_id}`. */
export const LOG_STREAMS = {
  orchestrator: '{instance_id}/orchestrator',
  /** One stream per container file: the agent appends the file's path to this prefix. */
  containers: '{instance_id}/containers',
} as const;

/** Each json-file log holds at most this many files of this size (as the orchestrator sets on its replicas). */
export const CONTAINER_LOG_LIMITS = { maxSize: '10m', maxFile: '3' } as const;

/** The CloudWatch agent's configuration: logs only (no metrics, so no extra permissions). */
export function cloudWatchAgentConfig(logGroupName: string): object {
  return {
    // Docker keeps the containers' logs readable by root only.
    agent: { run_as_user: 'root' },
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            {
              file_path: HOST_LOG_PATHS.orchestrator,
              log_group_name: logGroupName,
              log_stream_name: LOG_STREAMS.orchestrator,
              timezone: 'UTC',
            },
            {
              file_path: HOST_LOG_PATHS.containers,
              log_group_name: logGroupName,
              log_stream_name: LOG_STREAMS.containers,
              // Without it the agent tails only the most recently written file of a wildcard.
              publish_multi_logs: true,
              timezone: 'UTC',
            },
          ],
        },
      },
    },
  };
}

/**
 * Docker's log defaults (part of the daemon's settings, lib/docker-daemon.ts). The daemon
 * merges them into a container's json-file options it does not set itself, so the
 * orchestrator's replicas keep their own limits and gain the tag.
 */
export const DOCKER_LOG_DEFAULTS = {
  'log-driver': 'json-file',
  'log-opts': {
    'max-size': CONTAINER_LOG_LIMITS.maxSize,
    'max-file': CONTAINER_LOG_LIMITS.maxFile,
    tag: '{{.Name}}',
  },
} as const;
