/**
 * @module Canopy's languages. English is the source; the other locales are bundled JSON (no
 * fetch). The language is `?lang=xx` (remembered), else the person's earlier choice, else the
 * browser's languages (what Accept-Language carries), else English. `<html lang>` follows it.
 */
import i18n from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import { initReactI18next } from 'react-i18next';
import en from './locales/en.json';
import es from './locales/es.json';
import fr from './locales/fr.json';
import de from './locales/de.json';
import ja from './locales/ja.json';
import zhCN from './locales/zh-CN.json';

/** Each language named in itself, as a person looks for it in a menu. */
export const languages = [
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
  { code: 'fr', name: 'Français' },
  { code: 'de', name: 'Deutsch' },
  { code: 'ja', name: '日本語' },
  { code: 'zh-CN', name: '简体中文' },
] as const;

const STORAGE_KEY = 'canopy.lang';

/** Remembers a choice (the menu or `?lang=`); what the browser merely says is not a choice, so it is not stored. */
export function chooseLanguage(code: string): void {
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
  void i18n.changeLanguage(code);
}

/** The active language for Intl: what i18next resolved, English before it has. */
export function currentLocale(): string {
  return i18n.resolvedLanguage ?? 'en';
}

void i18n
  .use(LanguageDetector)
  .use(initReactI18next)
  .init({
    resources: { en: { translation: en }, es: { translation: es }, fr: { translation: fr }, de: { translation: de }, ja: { translation: ja }, 'zh-CN': { translation: zhCN } },
    supportedLngs: languages.map((l) => l.code),
    fallbackLng: 'en',
    initAsync: false, // resources are bundled: resolve the language before the first render
    interpolation: { escapeValue: false }, // React escapes already
    detection: { order: ['querystring', 'localStorage', 'navigator'], lookupQuerystring: 'lang', lookupLocalStorage: STORAGE_KEY, caches: [] },
  });

// Outside a browser (a unit test importing a module that translates) there is no page to read or follow: English.
if (typeof window !== 'undefined') {
  const fromQuery = new URLSearchParams(window.location.search).get('lang');
  if (fromQuery && i18n.resolvedLanguage && fromQuery.toLowerCase().startsWith(i18n.resolvedLanguage.slice(0, 2).toLowerCase())) {
    chooseLanguage(i18n.resolvedLanguage);
  }
  const followHtmlLang = () => {
    document.documentElement.lang = currentLocale();
  };
  followHtmlLang();
  i18n.on('languageChanged', followHtmlLang);
}

export default i18n;
