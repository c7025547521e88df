/**
 * Every name, label, path and fixed value the rehearsal uses, in one place: what it creates
 * carries these names and its label, so `--down` and the leftover check find exactly that.
 */
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Git-ignored: the root filesystem tarball, the synthesized app, certificates, registry storage. */
export const CACHE_DIR = path.join(REPO_ROOT, '.rehearsal-cache');
export const RUN_DIR = path.join(CACHE_DIR, 'run');

export const PREFIX = 'selfieless-rehearsal';
/** Label on every container, volume and network the rehearsal creates. */
export const LABEL = 'selfieless.rehearsal=1';
export const NETWORK = `${PREFIX}-net`;
export const DATABASE_CONTAINER = `${PREFIX}-database`;

/** `users` and `acts` for the default single-host groups; `acts-2` for a second acts host. */
export function hostContainerName(hostId: string): string {
  return `${PREFIX}-${hostId}`;
}
export function dockerVolumeName(hostId: string): string {
  return `${PREFIX}-${hostId}-docker`;
}

/** The account and region the template's pseudo parameters resolve to. */
export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';
export const STACK_NAME = 'SelfieLessActs';

/** Images the rehearsal builds from its own root filesystem. */
export const HOST_IMAGE_REPO = 'selfieless/rehearsal-host';
export const DATABASE_IMAGE_REPO = 'selfieless/rehearsal-mariadb';

/** Debian release and packages of the hosts' root filesystem; a change makes a new cache entry. */
export const DEBIAN_SUITE = 'bookworm';
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
export const ROOTFS_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'docker.io',
  'curl',
  'ca-certificates',
  'iproute2',
  'iptables',
  'procps',
  'sudo',
  'unzip',
  'jq',
  'logrotate',
  'mariadb-server',
  'mariadb-client',
];

/** Where the rehearsal's own files appear inside a host (read-only). */
export const HOST_SUPPORT_DIR = '/opt/rehearsal';
export const IMDS_ADDRESS = '169.254.169.254';
