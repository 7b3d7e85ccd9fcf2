/** @module A rough token count (about four characters a token in English), to warn before a text is too long. */

const number = new Intl.NumberFormat('en');

export function estimateTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

export function tokenEstimateText(characters: number, maxTokens?: number): string {
  const tokens = estimateTokens(characters);
  const used = `≈ ${number.format(tokens)} tokens`;
  if (!maxTokens) return used;
  const left = maxTokens - tokens;
  return left >= 0 ? `${used} · about ${number.format(left)} left` : `${used} · about ${number.format(-left)} over the limit of ${number.format(maxTokens)}`;
}
