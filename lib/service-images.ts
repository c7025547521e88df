/**
 * How a service image is built: one Dockerfile at the repository root for both services,
 * told which one by build arguments. Pure data, shared by the CDK app (image assets) and
 * `npm run images` (local builds), so both build the same thing the same way. Names and
 * ports come from the system's topology (common/topology.ts).
 */
import { SERVICE_NAMES, SERVICES, type ServiceName } from '../common/topology';

export { SERVICE_NAMES, type ServiceName };

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
    PORT: String(SERVICES[service].internalPort),
    ...(bases.baseImage ? { BASE_IMAGE: bases.baseImage } : {}),
    ...(bases.buildBaseImage ? { BUILD_BASE_IMAGE: bases.buildBaseImage } : {}),
  };
}
