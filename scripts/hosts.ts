/**
 * `npm run hosts [-- --stack NAME] [--region REGION]`: the deployed stack's hosts, with their
 * health in the load balancer and the command for a shell on each. Instance ids change as the
 * Auto Scaling groups replace hosts, so this asks AWS each time instead of the stack outputs.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { formatHosts, InventoryError, listHosts } from './host-inventory';

const USAGE = 'usage: npm run hosts -- [--stack NAME] [--region REGION]';

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): { stack: string; region: string } {
  let stack = 'SelfieLessActs';
  let region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === '--stack' || flag === '--region') && (value === undefined || value.startsWith('--')))
      throw new InventoryError(`${flag} needs a value (${USAGE})`);
    if (flag === '--stack') stack = value!;
    else if (flag === '--region') region = value;
    else throw new InventoryError(`unknown option ${flag} (${USAGE})`);
    i++;
  }
  if (!region) throw new InventoryError('no region: pass --region (e.g. us-east-1) or set AWS_REGION');
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
    throw new InventoryError(`"${region}" is not a region name such as us-east-1`);
  return { stack, region };
}

async function main(): Promise<void> {
  const { stack, region } = parseArgs(process.argv.slice(2), process.env);
  const clients = {
    cloudFormation: new CloudFormationClient({ region }),
    ec2: new EC2Client({ region }),
    elb: new ElasticLoadBalancingV2Client({ region }),
  };
  process.stdout.write(formatHosts(await listHosts(clients, stack, region), stack, region));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`hosts: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof InventoryError ? 2 : 1);
  });
}
