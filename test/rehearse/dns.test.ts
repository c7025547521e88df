import dgram from 'node:dgram';
import { answer, DnsServer, parseQuery } from '../../scripts/rehearse/dns';

function query(name: string, type = 1, id = 0x1234): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, type, 0, 1])]);
}

const records = new Map([['lb.us-east-1.elb.amazonaws.com', '172.29.40.1']]);

describe('the rehearsal resolver', () => {
  test('answers a known name with its A record', () => {
    const reply = answer(parseQuery(query('LB.us-east-1.elb.amazonaws.com'))!, records);
    expect(reply.readUInt16BE(0)).toBe(0x1234);
    expect(reply.readUInt16BE(2) & 0xf).toBe(0);
    expect(reply.readUInt16BE(6)).toBe(1);
    expect([...reply.subarray(reply.length - 4)]).toEqual([172, 29, 40, 1]);
  });

  test.each([
    ['an unknown name is NXDOMAIN', query('example.com'), 3, 0],
    ['another record type of a known name is empty', query('lb.us-east-1.elb.amazonaws.com', 28), 0, 0],
  ])('%s', (_name, message, rcode, answers) => {
    const reply = answer(parseQuery(message)!, records);
    expect(reply.readUInt16BE(2) & 0xf).toBe(rcode);
    expect(reply.readUInt16BE(6)).toBe(answers);
  });

  test('ignores a truncated message', () => {
    expect(parseQuery(Buffer.from([1, 2, 3]))).toBeUndefined();
  });

  test('serves over UDP', async () => {
    const server = new DnsServer('127.0.0.1', records, 0);
    await server.start();
    const client = dgram.createSocket('udp4');
    try {
      const reply = await new Promise<Buffer>((resolve) => {
        client.once('message', resolve);
        client.send(query('lb.us-east-1.elb.amazonaws.com'), server.port, '127.0.0.1');
      });
      expect([...reply.subarray(reply.length - 4)]).toEqual([172, 29, 40, 1]);
    } finally {
      client.close();
      server.stop();
    }
  });
});
