/**
 * The VPC's resolver, as far as the rehearsal needs it: A records for the names the stack
 * hands its hosts (the load balancer, the registries, the database endpoints), answered on the
 * network's gateway. Hosts and the containers inside them resolve through it; any other name
 * is NXDOMAIN at once (there is no internet to resolve it on).
 */
import dgram from 'node:dgram';

/** Parses the question of a DNS query: its id, name, type and the question's bytes. */
export function parseQuery(
  message: Buffer,
): { id: number; name: string; type: number; question: Buffer } | undefined {
  if (message.length < 17) return undefined;
  const labels: string[] = [];
  let offset = 12;
  while (offset < message.length) {
    const length = message[offset];
    if (length === 0) break;
    if (length > 63) return undefined;
    labels.push(message.subarray(offset + 1, offset + 1 + length).toString('latin1'));
    offset += 1 + length;
  }
  const end = offset + 5;
  if (end > message.length) return undefined;
  return {
    id: message.readUInt16BE(0),
    name: labels.join('.').toLowerCase(),
    type: message.readUInt16BE(offset + 1),
    question: message.subarray(12, end),
  };
}

const TYPE_A = 1;

/** The answer to a query: the A record when the name is known, NOERROR/empty for its other types, NXDOMAIN otherwise. */
export function answer(
  query: NonNullable<ReturnType<typeof parseQuery>>,
  records: Map<string, string>,
): Buffer {
  const address = records.get(query.name);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  // Response, recursion desired and available; rcode 3 (NXDOMAIN) for unknown names.
  header.writeUInt16BE(0x8180 | (address === undefined ? 3 : 0), 2);
  header.writeUInt16BE(1, 4);
  const withAnswer = address !== undefined && query.type === TYPE_A;
  header.writeUInt16BE(withAnswer ? 1 : 0, 6);
  if (!withAnswer) return Buffer.concat([header, query.question]);
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0); // name: pointer to the question's
  record.writeUInt16BE(TYPE_A, 2);
  record.writeUInt16BE(1, 4); // class IN
  record.writeUInt32BE(60, 6); // TTL
  record.writeUInt16BE(4, 10);
  address.split('.').forEach((part, i) => record.writeUInt8(Number(part), 12 + i));
  return Buffer.concat([header, query.question, record]);
}

export class DnsServer {
  private socket?: dgram.Socket;

  constructor(
    private readonly host: string,
    readonly records: Map<string, string>,
    /** 53, as the hosts expect; tests pass 0. */
    private readonly listenPort = 53,
  ) {}

  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  async start(): Promise<void> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (message, remote) => {
      const query = parseQuery(message);
      if (query) socket.send(answer(query, this.records), remote.port, remote.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.listenPort, this.host, () => resolve());
    });
    this.socket = socket;
  }

  stop(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
