/**
 * @module Per-model limits on a key (rpm, tpm, budget per model), enforced by
 * the one admission seam rather than beside it: a request on a model its key
 * limits is admitted twice — first as the key's *slice* for that model (a key
 * entry `<keyId>#<modelId>` whose own limits are the per-model ones, owned by
 * an owner of the same id with no limits, under no quota), then as the key
 * itself. Each admission is atomic, shared across replicas with leases when
 * Redis is on, and the slice's counters are its own; the slice's spend is read
 * from the rollups by (key, model) — see src/ledger/key-slices.ts. A refusal of the second
 * gives the first back.
 */
import type { Admission, AdmissionRequest, Ticket } from './admission.js';
import { GatewayError } from './errors.js';
import type { KeyEntry, SubscriptionEntry } from './snapshot.js';
import type { UsageEvent } from '../ledger/event.js';
import { SLICE_SEP } from '../ledger/key-slices.js';

const NO_QUOTA: SubscriptionEntry = { status: 'active', quotaRequests: null, quotaTokens: null };

// Made once per key entry and model: the admissions cache what they build per entry (KEYS, pools).
const slices = new WeakMap<KeyEntry, Map<string, KeyEntry>>();

/** The key's slice for `modelId`, or null when the key has no limit on that model. */
export function sliceOf(key: KeyEntry, modelId: string): KeyEntry | null {
  const l = key.modelLimits?.byModel.get(modelId);
  if (!l) return null;
  let byModel = slices.get(key);
  if (!byModel) slices.set(key, (byModel = new Map()));
  let s = byModel.get(modelId);
  if (!s) {
    const id = `${key.id}${SLICE_SEP}${modelId}`;
    const owner = { id, username: key.user.username, disabled: false, maxBudget: null, budgetPeriod: 'none' as const, rpm: null, tpm: null, credit: 0n, creditUntil: 0 };
    s = {
      id, user: owner, models: key.models, maxBudget: l.maxBudget, budgetPeriod: l.budgetPeriod, rpm: l.rpm, tpm: l.tpm,
      maxParallel: null, expiresAt: key.expiresAt, credit: 0n, creditUntil: 0, modelLimits: null,
    };
    byModel.set(modelId, s);
  }
  return s;
}

/** Admits `r` under its key's limit on the model (if any), then as itself; one ticket settles both. */
export function admitWithModelLimits(admission: Admission, r: AdmissionRequest): Ticket | Promise<Ticket> {
  const slice = sliceOf(r.key, r.model.id);
  if (!slice) return admission.admit(r);
  let first: Ticket | Promise<Ticket>;
  try {
    first = admission.admit({ ...r, key: slice, sub: NO_QUOTA });
  } catch (err) {
    throw onModel(err, r.model.id);
  }
  const then = (t: Ticket): Ticket | Promise<Ticket> => {
    let main: Ticket | Promise<Ticket>;
    try { main = admission.admit(r); } catch (err) { t.settle(null, 0n, 0); throw err; }
    if (main instanceof Promise) return main.then((m) => new BothTickets(t, m, slice), (err: unknown) => { t.settle(null, 0n, 0); throw err; });
    return new BothTickets(t, main, slice);
  };
  return first instanceof Promise ? first.then(then, (err: unknown) => { throw onModel(err, r.model.id); }) : then(first);
}

/** A refusal by the per-model limit says so (the key's own limits may allow the request on other models). */
function onModel(err: unknown, modelId: string): unknown {
  if (!(err instanceof GatewayError)) return err;
  return new GatewayError(err.code, `${err.message.replace(/\.$/, '')} (this key's limit for the model '${modelId}').`, err.param, err.retryAfter, err.reason);
}

class BothTickets implements Ticket {
  constructor(private readonly slice: Ticket, private readonly main: Ticket, private readonly key: KeyEntry) {}

  settle(e: UsageEvent | null, cost: bigint, tpmTokens: number): void {
    this.main.settle(e, cost, tpmTokens);
    // The slice counts the same request in its own scopes (the ledger records the event once, under the key).
    this.slice.settle(e && { ...e, keyId: this.key.id, userId: this.key.user.id }, cost, tpmTokens);
  }
}
