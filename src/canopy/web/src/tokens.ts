/** @module A rough token count (about four characters a token in English), to warn before a text is too long. */
import i18n, { currentLocale } from './i18n';

const number = { format: (n: number) => new Intl.NumberFormat(currentLocale()).format(n) };

export function estimateTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

export function tokenEstimateText(characters: number, maxTokens?: number): string {
  const tokens = estimateTokens(characters);
  const used = i18n.t('tokens.used', { tokens: number.format(tokens) });
  if (!maxTokens) return used;
  const left = maxTokens - tokens;
  return left >= 0
    ? i18n.t('tokens.left', { used, left: number.format(left) })
    : i18n.t('tokens.over', { used, over: number.format(-left), max: number.format(maxTokens) });
}
