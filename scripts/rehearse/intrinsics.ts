/**
 * CloudFormation's intrinsic functions, evaluated against the values a rehearsal gives the
 * stack's resources. Pure: the template in, plain values out; anything it cannot evaluate is
 * an error naming the function, never a silent guess.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Template {
  Parameters?: Record<string, { Type?: string; Default?: Json }>;
  Conditions?: Record<string, Json>;
  Mappings?: Record<string, Record<string, Record<string, Json>>>;
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, Json>; [key: string]: Json | undefined }
  >;
  Outputs?: Record<string, { Value: Json; Description?: string }>;
}

export interface ResolveContext {
  template: Template;
  accountId: string;
  region: string;
  stackName: string;
  /** Physical ids the rehearsal assigned; otherwise a deterministic default by resource type. */
  refs?: Record<string, string>;
  /** `logicalId.Attribute` values the rehearsal assigned, e.g. the load balancer's DNS name. */
  attributes?: Record<string, Json>;
  /** Values of parameters; otherwise their defaults. */
  parameters?: Record<string, Json>;
}

/** Thrown for a template the rehearsal cannot evaluate. */
export class IntrinsicError extends Error {}

const NO_VALUE = Symbol('AWS::NoValue');

function pseudo(name: string, ctx: ResolveContext): Json | typeof NO_VALUE | undefined {
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.accountId;
    case 'AWS::StackName':
      return ctx.stackName;
    case 'AWS::StackId':
      return `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${ctx.stackName}/00000000-0000-4000-8000-000000000000`;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::NoValue':
      return NO_VALUE;
    default:
      return undefined;
  }
}

/** The physical id CloudFormation would return for `Ref` on a resource of this type. */
export function defaultPhysicalId(logicalId: string, type: string, ctx: ResolveContext): string {
  const suffix = logicalId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 17);
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${ctx.region}:${ctx.accountId}:${resource}`;
  switch (type) {
    case 'AWS::EC2::Instance':
      return `i-${suffix}`;
    case 'AWS::SecretsManager::Secret':
    case 'AWS::SecretsManager::SecretTargetAttachment':
      return arn('secretsmanager', `secret:${logicalId}-rehrsl`);
    case 'AWS::ElasticLoadBalancingV2::LoadBalancer':
      return arn('elasticloadbalancing', `loadbalancer/app/${logicalId}/rehearsal`);
    case 'AWS::ElasticLoadBalancingV2::TargetGroup':
      return arn('elasticloadbalancing', `targetgroup/${logicalId}/rehearsal`);
    case 'AWS::ElasticLoadBalancingV2::Listener':
      return arn('elasticloadbalancing', `listener/app/${logicalId}/rehearsal`);
    default:
      return `${ctx.stackName}-${logicalId}`;
  }
}

function ref(name: string, ctx: ResolveContext): Json | typeof NO_VALUE {
  const p = pseudo(name, ctx);
  if (p !== undefined) return p;
  if (ctx.parameters && name in ctx.parameters) return ctx.parameters[name];
  const parameter = ctx.template.Parameters?.[name];
  if (parameter) {
    if (parameter.Default === undefined)
      throw new IntrinsicError(`parameter ${name} has no value and no default`);
    return parameter.Default;
  }
  const resource = ctx.template.Resources[name];
  if (!resource) throw new IntrinsicError(`Ref to unknown name ${name}`);
  return ctx.refs?.[name] ?? defaultPhysicalId(name, resource.Type, ctx);
}

function getAtt(logicalId: string, attribute: string, ctx: ResolveContext): Json {
  const key = `${logicalId}.${attribute}`;
  if (ctx.attributes && key in ctx.attributes) return ctx.attributes[key];
  if (!ctx.template.Resources[logicalId])
    throw new IntrinsicError(`Fn::GetAtt on unknown resource ${logicalId}`);
  throw new IntrinsicError(`Fn::GetAtt ${key} has no rehearsal value`);
}

function asString(value: Json | typeof NO_VALUE, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new IntrinsicError(`${where} needs a string, got ${JSON.stringify(value)}`);
}

function asArray(value: Json | typeof NO_VALUE, where: string): Json[] {
  if (Array.isArray(value)) return value;
  throw new IntrinsicError(`${where} needs a list, got ${JSON.stringify(value)}`);
}

function sub(template: string, variables: Record<string, Json>, ctx: ResolveContext): string {
  return template.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    if (name in variables) return asString(resolveValue(variables[name], ctx), `Fn::Sub \${${name}}`);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::'))
      return asString(getAtt(name.slice(0, dot), name.slice(dot + 1), ctx), `Fn::Sub \${${name}}`);
    return asString(ref(name, ctx), `Fn::Sub \${${name}}`);
  });
}

export function evaluateCondition(name: string, ctx: ResolveContext): boolean {
  const condition = ctx.template.Conditions?.[name];
  if (condition === undefined) throw new IntrinsicError(`unknown condition ${name}`);
  const value = resolveValue(condition, ctx);
  if (typeof value !== 'boolean') throw new IntrinsicError(`condition ${name} is not a boolean`);
  return value;
}

function resolveValue(value: Json, ctx: ResolveContext): Json | typeof NO_VALUE {
  if (Array.isArray(value)) {
    return value.map((item) => resolveValue(item, ctx)).filter((item): item is Json => item !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::') || keys[0] === 'Condition')) {
    const fn = keys[0];
    const arg = value[fn];
    switch (fn) {
      case 'Ref':
        return ref(asString(arg, 'Ref'), ctx);
      case 'Condition':
        return evaluateCondition(asString(arg, 'Condition'), ctx);
      case 'Fn::GetAtt': {
        const [id, attribute] = typeof arg === 'string' ? splitOnce(arg) : (asArray(arg, fn) as string[]);
        return getAtt(asString(id, fn), asString(resolveValue(attribute, ctx), fn), ctx);
      }
      case 'Fn::Join': {
        const [separator, list] = asArray(arg, fn);
        return asArray(resolveValue(list, ctx), fn)
          .map((item) => asString(item, fn))
          .join(asString(separator, fn));
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return sub(arg, {}, ctx);
        const [text, variables] = asArray(arg, fn);
        return sub(asString(text, fn), (variables ?? {}) as Record<string, Json>, ctx);
      }
      case 'Fn::Base64':
        return Buffer.from(asString(resolveValue(arg, ctx), fn)).toString('base64');
      case 'Fn::Select': {
        const [index, list] = asArray(arg, fn);
        const items = asArray(resolveValue(list, ctx), fn);
        const i = Number(resolveValue(index, ctx));
        if (!Number.isInteger(i) || i < 0 || i >= items.length)
          throw new IntrinsicError(`Fn::Select index ${i} out of range`);
        return items[i];
      }
      case 'Fn::Split': {
        const [separator, text] = asArray(arg, fn);
        return asString(resolveValue(text, ctx), fn).split(asString(separator, fn));
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${ctx.region}${zone}`);
      case 'Fn::Equals': {
        const [a, b] = asArray(arg, fn).map((item) => resolveValue(item, ctx));
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not':
        return !truth(asArray(arg, fn)[0], ctx);
      case 'Fn::And':
        return asArray(arg, fn).every((item) => truth(item, ctx));
      case 'Fn::Or':
        return asArray(arg, fn).some((item) => truth(item, ctx));
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = asArray(arg, fn);
        return resolveValue(evaluateCondition(asString(condition, fn), ctx) ? whenTrue : whenFalse, ctx);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = asArray(arg, fn).map((item) => asString(resolveValue(item, ctx), fn));
        const found = ctx.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined) throw new IntrinsicError(`Fn::FindInMap ${map}.${top}.${second} not found`);
        return resolveValue(found, ctx);
      }
      default:
        throw new IntrinsicError(`${fn} is not supported by the rehearsal`);
    }
  }
  const out: Record<string, Json> = {};
  for (const [key, item] of Object.entries(value)) {
    const resolved = resolveValue(item, ctx);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

function truth(value: Json, ctx: ResolveContext): boolean {
  const resolved = resolveValue(value, ctx);
  if (typeof resolved !== 'boolean')
    throw new IntrinsicError(`expected a condition, got ${JSON.stringify(resolved)}`);
  return resolved;
}

function splitOnce(text: string): [string, string] {
  const dot = text.indexOf('.');
  if (dot < 0) throw new IntrinsicError(`Fn::GetAtt "${text}" has no attribute`);
  return [text.slice(0, dot), text.slice(dot + 1)];
}

/** Evaluates every intrinsic function in `value`. */
export function resolve(value: Json, ctx: ResolveContext): Json {
  const resolved = resolveValue(value, ctx);
  return resolved === NO_VALUE ? null : resolved;
}
