import net from 'node:net';
import { createAdminServer } from '../../orchestrator/admin';
import { ERROR_CODES, errorCode } from '../../orchestrator/errors';
import { createFrontDoor } from '../../orchestrator/front-door';
import { listenFrontDoorAndAdmin } from '../../orchestrator/listen';
import { silentLogger } from '../../common/log';

function parts() {
  const frontDoor = createFrontDoor({ pools: [], logger: silentLogger, closeGraceMs: 100 });
  const admin = createAdminServer({
    status: () => ({ startedAt: '', now: '', runtime: 'process', pools: [], events: [] }),
  });
  return { frontDoor, admin };
}

async function blockPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  return { port, release: () => new Promise((r) => blocker.close(() => r())) };
}

const on = (port: number) => ({ host: '127.0.0.1', port });

describe('listenFrontDoorAndAdmin', () => {
  test('both listen on the ports the system chose', async () => {
    const { frontDoor, admin } = parts();
    const ports = await listenFrontDoorAndAdmin({ listen: on(0), admin: on(0) }, frontDoor, admin);
    try {
      expect(ports.frontDoorPort).toBeGreaterThan(0);
      expect(ports.adminPort).toBeGreaterThan(0);
      expect(frontDoor.server.address()).toMatchObject({ port: ports.frontDoorPort });
      expect(admin.server.address()).toMatchObject({ port: ports.adminPort });
    } finally {
      await frontDoor.close();
      await admin.close();
    }
  });

  test('a taken admin port fails with the listen code and closes the front door again', async () => {
    const { frontDoor, admin } = parts();
    const taken = await blockPort();
    try {
      const attempt = listenFrontDoorAndAdmin({ listen: on(0), admin: on(taken.port) }, frontDoor, admin);
      const error: unknown = await attempt.catch((err: unknown) => err);
      expect(errorCode(error)).toBe(ERROR_CODES.listen);
      expect(error).toMatchObject({ what: 'admin', port: taken.port });
      expect(frontDoor.server.listening).toBe(false);
    } finally {
      await taken.release();
    }
  });

  test('a taken front-door port fails with the listen code before the admin server listens', async () => {
    const { frontDoor, admin } = parts();
    const taken = await blockPort();
    try {
      const error: unknown = await listenFrontDoorAndAdmin(
        { listen: on(taken.port), admin: on(0) },
        frontDoor,
        admin,
      ).catch((err: unknown) => err);
      expect(errorCode(error)).toBe(ERROR_CODES.listen);
      expect(error).toMatchObject({ what: 'front door', port: taken.port });
      expect(admin.server.listening).toBe(false);
    } finally {
      await taken.release();
    }
  });
});
