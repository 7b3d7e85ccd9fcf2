/**
 * @module A stand-in for vLLM's automatic prefix cache: prompts are cut into
 * blocks of 16 token pieces, each block named by a hash of its tokens and of
 * the blocks before it; a new prompt's cached tokens are its leading blocks
 * already seen for the same model (never the whole prompt: vLLM always
 * recomputes at least the last token), so a repeated prefix reports
 * `cached_tokens` rounded down to a whole block. Bounded, least recently used
 * blocks forgotten first.
 */
import { createHash } from 'node:crypto';

export const BLOCK_SIZE = 16;
const DEFAULT_CAPACITY = 50_000;

export class PrefixCache {
  private readonly blocks = new Map<string, true>();
  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** The cached-token count for `pieces` under `model`; then remembers its full blocks. */
  lookupAndInsert(model: string, pieces: readonly string[]): number {
    const full = Math.floor(pieces.length / BLOCK_SIZE);
    const cacheable = Math.floor(Math.max(0, pieces.length - 1) / BLOCK_SIZE);
    let parent = `model:${model}`;
    let hits = 0;
    let missed = false;
    for (let b = 0; b < full; b++) {
      const h = createHash('sha1').update(parent).update('\u0000');
      for (let i = b * BLOCK_SIZE; i < (b + 1) * BLOCK_SIZE; i++) h.update(pieces[i]!).update('\u0001');
      parent = h.digest('base64');
      if (!missed && b < cacheable && this.blocks.has(parent)) hits++;
      else missed = true;
      this.blocks.delete(parent); // re-insert: most recently used last
      this.blocks.set(parent, true);
    }
    while (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value!);
    return hits * BLOCK_SIZE;
  }
}
