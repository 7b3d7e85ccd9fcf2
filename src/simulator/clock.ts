/**
 * @module A request's lifetime: cancellable delays (TTFT, inter-token latency)
 * that stop the moment the client goes away, so a disconnected client leaves
 * no timers or generation running behind it.
 */
import type { ServerResponse } from 'node:http';

export class RequestClock {
  /** True once the response closed before it finished (client gone, or socket destroyed). */
  gone = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: ((alive: boolean) => void) | null = null;
  private selfReset = false;

  constructor(res: ServerResponse, onAbort: () => void) {
    res.once('close', () => {
      if (res.writableFinished) return;
      this.gone = true;
      if (!this.selfReset) onAbort();
      if (this.timer) { clearTimeout(this.timer); this.timer = null; }
      const wake = this.wake;
      this.wake = null;
      wake?.(false);
    });
  }

  /** Destroys the connection on purpose (fault injection): not counted as a client abort. */
  reset(res: ServerResponse): void {
    this.selfReset = true;
    res.socket?.destroy();
    res.destroy();
  }

  /** Waits `ms`; resolves true if the client is still there, false as soon as it leaves. */
  sleep(ms: number): Promise<boolean> {
    if (this.gone) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => { this.timer = null; this.wake = null; resolve(!this.gone); }, ms);
    });
  }
}
