/**
 * @module A text/event-stream reader that follows the WHATWG rules, so any
 * upstream's framing reads the same: LF, CRLF and CR line ends (a CRLF split
 * across two chunks is one line end), multi-line `data:` (joined with "\n"),
 * comments, `event:`/`id:` fields, one optional space after the colon, a BOM
 * at the start, and events split across network chunks at any byte.
 * Decoding UTF-8 across chunk boundaries is the caller's (StringDecoder).
 */

export interface SseEvent {
  /** The `event:` name, '' when none was given (a "message"). */
  event: string;
  data: string;
  id: string | null;
}

const LF = 10;

/** One event larger than this is not a model's answer: the stream is treated as broken rather than buffered without end. */
export const MAX_EVENT_CHARS = 16 * 1024 * 1024;

export class SseEventTooLarge extends Error {
  constructor() { super(`an upstream event exceeded ${MAX_EVENT_CHARS} characters`); }
}

export class SseReader {
  /** Text after the last line end, kept as chunks so a long line is joined once, not rescanned per chunk. */
  private rest: string[] = [];
  private restLength = 0;
  private data: string | null = null;
  private event = '';
  private id: string | null = null;
  /** The previous chunk ended on CR: an LF starting the next one belongs to that line end. */
  private afterCR = false;
  private started = false;

  constructor(private readonly onEvent: (e: SseEvent) => void) {}

  push(text: string): void {
    if (!text) return;
    if (this.restLength > 0 && !this.afterCR && text.indexOf('\n') < 0 && text.indexOf('\r') < 0) {
      // Still inside one line: keep the chunk, scan nothing again.
      this.rest.push(text);
      this.restLength += text.length;
      if (this.restLength > MAX_EVENT_CHARS) throw new SseEventTooLarge();
      return;
    }
    const s = this.restLength > 0 ? this.rest.join('') + text : text;
    this.rest = [];
    this.restLength = 0;
    let pos = 0;
    if (!this.started) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) pos = 1;
    }
    if (this.afterCR) {
      this.afterCR = false;
      if (s.charCodeAt(pos) === LF) pos++;
    }
    // Next LF and CR positions, recomputed only once passed: each byte is scanned at most twice.
    let nextLF = s.indexOf('\n', pos);
    let nextCR = s.indexOf('\r', pos);
    while (nextLF >= 0 || nextCR >= 0) {
      let end: number;
      let after: number;
      if (nextCR < 0 || (nextLF >= 0 && nextLF < nextCR)) {
        end = nextLF; after = end + 1;
      } else {
        end = nextCR;
        if (end + 1 === s.length) { after = end + 1; this.afterCR = true; }
        else after = s.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
      }
      this.line(s, pos, end);
      pos = after;
      if (nextLF >= 0 && nextLF < pos) nextLF = s.indexOf('\n', pos);
      if (nextCR >= 0 && nextCR < pos) nextCR = s.indexOf('\r', pos);
    }
    if (pos < s.length) {
      this.rest = [s.slice(pos)];
      this.restLength = s.length - pos;
      if (this.restLength > MAX_EVENT_CHARS) throw new SseEventTooLarge();
    }
  }

  /** The stream ended: a last event without its blank line is still dispatched (servers that close without one). */
  end(): void {
    if (this.restLength > 0) {
      const s = this.rest.join('');
      this.rest = [];
      this.restLength = 0;
      this.line(s, 0, s.length);
    }
    this.dispatch();
  }

  private line(s: string, from: number, to: number): void {
    if (from === to) return this.dispatch();
    if (s.charCodeAt(from) === 58 /* : */) return; // comment
    const colon = s.indexOf(':', from);
    let field: string;
    let value: string;
    if (colon < 0 || colon >= to) {
      field = s.slice(from, to);
      value = '';
    } else {
      field = s.slice(from, colon);
      const v = s.charCodeAt(colon + 1) === 32 && colon + 1 < to ? colon + 2 : colon + 1;
      value = s.slice(v, to);
    }
    switch (field) {
      case 'data':
        this.data = this.data === null ? value : this.data + '\n' + value;
        if (this.data.length > MAX_EVENT_CHARS) throw new SseEventTooLarge();
        break;
      case 'event': this.event = value; break;
      case 'id': if (!value.includes('\0')) this.id = value; break;
      default: break; // retry and unknown fields carry nothing the relay needs
    }
  }

  private dispatch(): void {
    const data = this.data;
    const event = this.event;
    this.data = null;
    this.event = '';
    if (data === null) return;
    this.onEvent({ event, data, id: this.id });
  }
}

/** One event in LF framing, as the gateway writes it to clients. */
export function formatEvent(data: string, event = ''): string {
  const head = event ? `event: ${event}\n` : '';
  if (!data.includes('\n') && !data.includes('\r')) return `${head}data: ${data}\n\n`;
  return `${head}${data.split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join('\n')}\n\n`;
}
