/**
 * @module Copy text to the clipboard. The async Clipboard API exists only in secure contexts, and a
 * workshop cluster is often plain http, so fall back to a hidden textarea and execCommand there.
 */
import i18n from './i18n';

export async function copyText(text: string): Promise<void> {
  if (window.isSecureContext && navigator.clipboard) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  try {
    if (!document.execCommand('copy')) throw new Error(i18n.t('errors.copyRefused'));
  } finally {
    area.remove();
  }
}
