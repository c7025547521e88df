/**
 * Everything the app holds: the stack, tags on everything, and the AwsSolutions checks. The
 * checks run as a validation plugin during synthesis and fail it on any finding that is not
 * acknowledged on its resource with a reason.
 */
import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SelfieLessActsStack } from './selfieless-stack';
import type { DeploymentSettings } from './settings';

export function populateApp(app: App, settings: DeploymentSettings, repoRoot: string): SelfieLessActsStack {
  const stack = new SelfieLessActsStack(app, settings.stackName, {
    description:
      'SelfieLessActs: the users and acts hosts (Auto Scaling groups running the orchestrator) behind an Application Load Balancer',
    repoRoot,
    settings,
  });
  Tags.of(app).add('project', 'SelfieLessActs');
  Tags.of(app).add('managed-by', 'cdk');
  // Acknowledgements are copied into the template's metadata, so the reasons travel with it.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  return stack;
}
