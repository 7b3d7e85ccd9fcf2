/**
 * A TCP proxy in front of PostgreSQL that a test can break on purpose: cut
 * every connection, refuse new ones (accept and reset), stop listening, freeze
 * traffic (a half-open network: nothing arrives, nothing fails), or do either
 * the moment a chosen statement (e.g. the ledger's insert) goes through it.
 * It counts what it accepts per second and how many connections are open.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'up' | 'refuse' | 'freeze';

interface Pair { client: Socket; upstream: Socket | null }
interface Trap { pattern: Buffer; fire: () => void }

export class ChaosProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<Pair>();
  private trap: Trap | null = null;
  mode: ProxyMode = 'up';
  port = 0;
  /** Connections accepted per wall-clock second. */
  readonly acceptedPerSecond = new Map<number, number>();
  accepted = 0;
  maxOpen = 0;

  constructor(private readonly targetPort: number) {}

  get open(): number { return this.pairs.size; }
  get maxAcceptedPerSecond(): number { return Math.max(0, ...this.acceptedPerSecond.values()); }

  async listen(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Stops listening (new connections get ECONNREFUSED) and cuts every connection. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.cut();
    if (s) await new Promise((r) => s.close(r));
  }

  /** Destroys every proxied connection, both sides. */
  cut(): void {
    for (const p of this.pairs) { p.client.destroy(); p.upstream?.destroy(); }
    this.pairs.clear();
  }

  /**
   * Resolves the first time a client sends bytes containing `pattern`; those bytes are
   * forwarded to the server (it may well execute them) and then `action` happens at once.
   */
  trapStatement(pattern: string, action: 'cut' | 'freeze'): Promise<void> {
    return new Promise((resolve) => {
      this.trap = {
        pattern: Buffer.from(pattern),
        fire: () => {
          if (action === 'freeze') this.mode = 'freeze';
          else { this.mode = 'refuse'; setImmediate(() => this.cut()); } // after the write reached the kernel
          resolve();
        },
      };
    });
  }

  private accept(client: Socket): void {
    const sec = Math.floor(Date.now() / 1000);
    this.acceptedPerSecond.set(sec, (this.acceptedPerSecond.get(sec) ?? 0) + 1);
    this.accepted++;
    client.on('error', () => {});
    if (this.mode === 'refuse') { client.resetAndDestroy(); return; }
    const pair: Pair = { client, upstream: null };
    this.pairs.add(pair);
    this.maxOpen = Math.max(this.maxOpen, this.pairs.size);
    const drop = () => { client.destroy(); pair.upstream?.destroy(); this.pairs.delete(pair); };
    client.on('close', drop);
    if (this.mode === 'freeze') return; // accepted, never answered
    const upstream = connect(this.targetPort, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('error', () => {});
    upstream.on('close', drop);
    client.on('data', (b: Buffer) => {
      if (this.mode === 'freeze') return;
      upstream.write(b);
      const t = this.trap;
      if (t && b.includes(t.pattern)) { this.trap = null; t.fire(); }
    });
    upstream.on('data', (b: Buffer) => { if (this.mode !== 'freeze') client.write(b); });
  }
}
