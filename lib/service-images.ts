/**
 * How a service image is built: one Dockerfile at the repository root for both services,
 * told which one by build arguments. Pure data, shared by the CDK app (image assets) and
 * `npm run images` (local builds), so both build the same thing the same way.
 */

export const SERVICE_NAMES = ['users', 'acts'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The port each service listens on by default; the orchestrator's pools start there too. */
export const SERVICE_PORTS: Record<ServiceName, number> = { acts: 8000, users: 8100 };

/** Relative to the repository root, which is the build context. */
export const DOCKERFILE = 'Dockerfile';

/** Id of the optional BuildKit secret: a CA bundle npm trusts inside the build. */
export const NPM_CA_SECRET_ID = 'npm_ca';

export interface BaseImages {
  /** What the service runs on; the Dockerfile's default is the official Node 22 slim image. */
  baseImage?: string;
  /** Where dependencies are installed; the Dockerfile's default is the official Node 22 image. */
  buildBaseImage?: string;
}

/** The `--build-arg`s of one service's image; base images only when they differ from the defaults. */
export function imageBuildArgs(service: ServiceName, bases: BaseImages = {}): Record<string, string> {
  return {
    SERVICE: service,
    PORT: String(SERVICE_PORTS[service]),
    ...(bases.baseImage ? { BASE_IMAGE: bases.baseImage } : {}),
    ...(bases.buildBaseImage ? { BUILD_BASE_IMAGE: bases.buildBaseImage } : {}),
  };
}
