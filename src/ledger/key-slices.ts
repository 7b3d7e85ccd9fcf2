/**
 * @module A key's *slice* for one model: the spend scope of a per-model limit
 * on a key (src/gateway/model-limits.ts), named `<keyId>#<modelId>`. Its
 * history is the key's usage on that model, so reads and event matching go
 * by (key, model) instead of by key.
 */
import type { UsageEvent } from './event.js';

export const SLICE_SEP = '#';

/** [keyId, modelId] when `id` is a key's slice for a model (key ids are UUIDs: they never hold '#'), else null. */
export function sliceParts(id: string): [string, string] | null {
  const i = id.indexOf(SLICE_SEP);
  return i < 0 ? null : [id.slice(0, i), id.slice(i + 1)];
}

/** Whether a usage event counts in the spend scope of key `keyId` (a key, or a key's slice for one model). */
export function eventOfKey(keyId: string, e: Pick<UsageEvent, 'keyId' | 'modelId'>): boolean {
  const s = sliceParts(keyId);
  return s ? e.keyId === s[0] && e.modelId === s[1] : e.keyId === keyId;
}
