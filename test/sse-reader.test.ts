/**
 * The event-stream reader on generated streams: any events, any of the three
 * line ends (mixed), comments, BOM, multi-line data, and the bytes cut into
 * chunks at arbitrary points (inside CRLF and inside multi-byte characters)
 * always read back as the same events.
 */
import { StringDecoder } from 'node:string_decoder';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatEvent, SseEventTooLarge, SseReader, type SseEvent } from '../src/gateway/sse.js';

const lineText = fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ''));
const eventArb = fc.record({
  event: fc.oneof(fc.constant(''), fc.constantFrom('message_start', 'response.output_text.delta', 'x')),
  lines: fc.array(lineText, { minLength: 1, maxLength: 3 }),
});
const ends = fc.constantFrom('\n', '\r\n', '\r');

function read(chunks: Buffer[]): SseEvent[] {
  const out: SseEvent[] = [];
  const r = new SseReader((e) => out.push(e));
  const dec = new StringDecoder('utf8');
  for (const c of chunks) r.push(dec.write(c));
  r.push(dec.end());
  r.end();
  return out;
}

function cut(buf: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of at) { parts.push(buf.subarray(prev, p)); prev = p; }
  parts.push(buf.subarray(prev));
  return parts;
}

describe('SSE reader', () => {
  it('reads any framing, cut anywhere, as the events that were sent', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(eventArb, ends, fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 12 }),
      (events, bom, points) => {
        let text = bom ? '\uFEFF' : '';
        for (const [e, eol, comment, spaced] of events) {
          if (comment) text += `: keep-alive${eol}`;
          if (e.event) text += `event:${spaced ? ' ' : ''}${e.event}${eol}`;
          for (const l of e.lines) text += `data:${spaced ? ' ' : ''}${l}${eol}`;
          text += eol;
        }
        const got = read(cut(Buffer.from(text, 'utf8'), points));
        // Without the optional space, a value that itself starts with a space loses nothing: we only strip one.
        expect(got.map((g) => ({ event: g.event, data: g.data }))).toEqual(
          events.map(([e, , , spaced]) => ({ event: e.event, data: e.lines.map((l) => (spaced ? l : l.startsWith(' ') ? l.slice(1) : l)).join('\n') })));
      }), { seed: 8, numRuns: 400 });
  });

  it('does not invent an empty line from a CRLF split across two chunks', () => {
    const out: SseEvent[] = [];
    const r = new SseReader((e) => out.push(e));
    r.push('data: a\r');
    r.push('\ndata: b\r\n\r\n');
    r.end();
    expect(out).toEqual([{ event: '', data: 'a\nb', id: null }]);
  });

  it('ignores comments, dispatches a last event without a blank line, and keeps ids', () => {
    const out: SseEvent[] = [];
    const r = new SseReader((e) => out.push(e));
    r.push(': hello\n\nid: 7\nevent: done\ndata: {"x":1}');
    r.end();
    expect(out).toEqual([{ event: 'done', data: '{"x":1}', id: '7' }]);
  });

  it('writes events in LF framing, multi-line data as several data lines', () => {
    expect(formatEvent('{"a":1}')).toBe('data: {"a":1}\n\n');
    expect(formatEvent('a\r\nb', 'ping')).toBe('event: ping\ndata: a\ndata: b\n\n');
  });
});

describe('SSE reader on one huge event', () => {
  it('reads a long line in linear time and refuses an event beyond the cap', () => {
    const out: SseEvent[] = [];
    const r = new SseReader((e) => out.push(e));
    const chunk = 'x'.repeat(16 * 1024);
    const t0 = performance.now();
    r.push('data: ');
    for (let i = 0; i < 512; i++) r.push(chunk); // 8 MiB in 16 KiB chunks: quadratic rescanning took seconds
    r.push('\n\n');
    expect(out[0]!.data.length).toBe(8 * 1024 * 1024);
    expect(performance.now() - t0).toBeLessThan(5000); // generous: the quadratic reader took ~15 s here
    const big = new SseReader(() => {});
    big.push('data: ');
    expect(() => { for (let i = 0; i < 1100; i++) big.push(chunk); }).toThrow(SseEventTooLarge);
  });
});
