/**
 * @module The features Canopy can offer, in sidebar order. `key` is the name in the backend's
 * configuration and feature flags; `path` is the UI route, kept apart from the API paths so that
 * a reload of a page never lands on an endpoint.
 */

export interface Feature {
  key: string;
  label: string;
  path: string;
  /** One line on what it does, for its page and its "coming soon" state. */
  description: string;
}

export const features = {
  summarize: {
    key: 'summarize',
    label: 'Summarization',
    path: '/',
    description: 'Paste a text to get a short summary, then ask follow-up questions about it.',
  },
  tutor: {
    key: 'socratic-tutor',
    label: 'Socratic tutor',
    path: '/tutor',
    description: 'A tutor that answers with guiding questions, so you reach the answer yourself.',
  },
  search: {
    key: 'information-search',
    label: 'Information search',
    path: '/search',
    description: 'Answers grounded in the course documents, found by meaning rather than by keyword.',
  },
  assistant: {
    key: 'student-assistant',
    label: 'Student assistant',
    path: '/assistant',
    description: 'An assistant that can use tools to help with coursework.',
  },
} satisfies Record<string, Feature>;

export const featureList: Feature[] = Object.values(features);

/** Not features of their own: they change how Summarization behaves. */
export const FEEDBACK = 'feedback';
export const AB_TESTING = 'ab_testing';
