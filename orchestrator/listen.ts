/**
 * Both ports before anything else: a taken front-door or admin port must fail the start
 * before any replica is touched, and a failed admin port leaves the front door closed again.
 */
import type { OrchestratorConfig } from './config';
import type { FrontDoor } from './front-door';
import type { AdminServer } from './admin';
import { ListenError } from './errors';

async function listenOrExplain(
  what: string,
  host: string,
  port: number,
  listen: () => Promise<unknown>,
): Promise<void> {
  try {
    await listen();
  } catch (err) {
    throw new ListenError(what, host, port, err as NodeJS.ErrnoException);
  }
}

export interface ListeningPorts {
  frontDoorPort: number;
  adminPort: number;
}

export async function listenFrontDoorAndAdmin(
  config: Pick<OrchestratorConfig, 'listen' | 'admin'>,
  frontDoor: Pick<FrontDoor, 'listen' | 'close' | 'server'>,
  admin: Pick<AdminServer, 'listen'>,
): Promise<ListeningPorts> {
  await listenOrExplain('front door', config.listen.host, config.listen.port, () =>
    frontDoor.listen(config.listen.port, config.listen.host),
  );
  let adminPort: number;
  try {
    adminPort = await admin
      .listen(config.admin.port, config.admin.host)
      .catch((err: NodeJS.ErrnoException) => {
        throw new ListenError('admin', config.admin.host, config.admin.port, err);
      });
  } catch (err) {
    await frontDoor.close();
    throw err;
  }
  const address = frontDoor.server.address();
  const frontDoorPort = typeof address === 'object' && address ? address.port : config.listen.port;
  return { frontDoorPort, adminPort };
}
