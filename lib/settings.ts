/**
 * The deployment's few settings, read from CDK context (`cdk.json` or `-c key=value`) once by
 * the entry point and validated here, so a typo fails before anything is synthesized.
 */

export interface DeploymentSettings {
  stackName: string;
  /** Both hosts; t3.micro is the smallest size that runs the images and MariaDB comfortably. */
  instanceType: string;
}

export const DEFAULT_SETTINGS: DeploymentSettings = {
  stackName: 'SelfieLessActs',
  instanceType: 't3.micro',
};

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** Reads settings from a context getter (e.g. `(key) => app.node.tryGetContext(key)`). */
export function readSettings(context: (key: string) => unknown): DeploymentSettings {
  const pick = (key: keyof DeploymentSettings, pattern: RegExp): string => {
    const raw = context(key);
    if (raw === undefined || raw === null || raw === '') return DEFAULT_SETTINGS[key];
    if (typeof raw !== 'string' || !pattern.test(raw)) {
      throw new Error(`context "${key}" must match ${pattern}, got ${JSON.stringify(raw)}`);
    }
    return raw;
  };
  return { stackName: pick('stackName', STACK_NAME), instanceType: pick('instanceType', INSTANCE_TYPE) };
}
