/**
 * @module 👍/👎 on Canopy's answers, appended to a JSON-lines file (kept
 * across restarts) and exported as a YAML evaluation dataset: each item is
 * an input, the model's output and the person's judgement.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';

export interface Feedback {
  id: string; at: string; feature: string; prompt: string; response: string;
  rating: 'up' | 'down'; variant: 'a' | 'b' | null; comment: string | null; model: string | null;
}

export class FeedbackStore {
  private readonly items: Feedback[] = [];

  constructor(private readonly file: string) {
    if (existsSync(file)) {
      for (const l of readFileSync(file, 'utf8').split('\n')) {
        if (!l.trim()) continue;
        try { this.items.push(JSON.parse(l) as Feedback); } catch { /* a torn last line after a crash: skip it */ }
      }
    }
  }

  add(f: Omit<Feedback, 'id' | 'at'>): Feedback {
    const item: Feedback = { id: randomUUID(), at: new Date().toISOString(), ...f };
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, JSON.stringify(item) + '\n');
    this.items.push(item);
    return item;
  }

  list(): Feedback[] { return [...this.items]; }

  /** The evaluation dataset: rated examples, newest last, as YAML. */
  exportYaml(): string {
    const doc = {
      dataset: 'canopy-feedback',
      description: 'Answers rated by Canopy users (rating up = good example, down = bad example)',
      exported_at: new Date().toISOString(),
      count: this.items.length,
      examples: this.items.map((f) => ({
        id: f.id, feature: f.feature, model: f.model, variant: f.variant, input: f.prompt, output: f.response,
        rating: f.rating, ...(f.comment ? { comment: f.comment } : {}), at: f.at,
      })),
    };
    return stringify(doc, { lineWidth: 0 });
  }
}
