/**
 * @module The features Canopy can offer, in sidebar order. `key` is the name in the backend's
 * configuration and feature flags; `path` is the UI route, kept apart from the API paths so that
 * a reload of a page never lands on an endpoint.
 */

export interface Feature {
  key: string;
  /** Translation key of its name. */
  labelKey: string;
  path: string;
  /** Translation key of one line on what it does, for its page and its "coming soon" state. */
  descriptionKey: string;
}

export const features = {
  summarize: { key: 'summarize', labelKey: 'features.summarize.label', path: '/', descriptionKey: 'features.summarize.description' },
  tutor: { key: 'socratic-tutor', labelKey: 'features.tutor.label', path: '/tutor', descriptionKey: 'features.tutor.description' },
  search: { key: 'information-search', labelKey: 'features.search.label', path: '/search', descriptionKey: 'features.search.description' },
  assistant: { key: 'student-assistant', labelKey: 'features.assistant.label', path: '/assistant', descriptionKey: 'features.assistant.description' },
} satisfies Record<string, Feature>;

export const featureList: Feature[] = Object.values(features);

/** Not features of their own: they change how Summarization behaves. */
export const FEEDBACK = 'feedback';
export const AB_TESTING = 'ab_testing';
