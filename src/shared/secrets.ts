/**
 * @module Secrets at rest: API keys are looked up by sha256 and kept
 * AES-256-GCM-encrypted for "show key"; upstream tokens are encrypted too.
 * The encryption key comes from LITEMAAS_SECRET or is generated once into the
 * data dir (mode 0600).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export class Cipher {
  private readonly key: Buffer;
  constructor(secret: string) {
    // A 64-hex secret is used as is; anything else is stretched by sha256 to 32 bytes.
    this.key = /^[0-9a-f]{64}$/i.test(secret) ? Buffer.from(secret, 'hex') : createHash('sha256').update(secret).digest();
  }
  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }
  decrypt(sealed: string): string {
    const [v, iv, tag, body] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('unrecognised ciphertext');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
  }
}

export function loadCipher(secret: string | undefined, dataDir: string): Cipher {
  if (secret) return new Cipher(secret);
  const file = join(dataDir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return new Cipher(readFileSync(file, 'utf8').trim());
}

/** A new API key: `sk-` + 43 base64url chars (256 bits). */
export function newApiKey(): string {
  return 'sk-' + randomBytes(32).toString('base64url');
}

/** What lists show instead of the key: `sk-ab12…wxyz`. */
export function keyPrefix(key: string): string {
  return `${key.slice(0, 7)}…${key.slice(-4)}`;
}
