import { createStore, useStore } from '../store';
import { en, type MessageKey } from './en';
import { ko } from './ko';

export type Language = 'en' | 'ko';
export const LANGUAGES: readonly Language[] = ['en', 'ko'];
const MESSAGES: Record<Language, Record<MessageKey, string>> = { en, ko };
const STORAGE_KEY = 'ed.language';

function initial(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === 'en' || stored === 'ko') return stored;
  return navigator.language.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

/**
 * The UI language: the signed-in user's `language` setting once it is known (see settings in
 * app.tsx), before that the last one used in this browser, else the browser's.
 */
export const language = createStore<Language>(initial());
language.subscribe((lang) => {
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
});
document.documentElement.lang = language.get();

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translate(lang: Language): Translate {
  const messages = MESSAGES[lang];
  return (key, params) => {
    const text = messages[key] ?? en[key] ?? key;
    return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
  };
}

/** The translate function of the current language; the component re-renders when it changes. */
export function useT(): Translate {
  return translate(useStore(language));
}

/** Dates and times in the UI language (the browser's time zone). */
export function formatDateTime(iso: string, lang: Language): string {
  return new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}
