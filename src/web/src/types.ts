/**
 * @module The portal API's response shapes: the very declarations the server's views are typed with
 * (src/shared/api-types.ts), never re-declared here. Request bodies are typed where they are sent.
 */
export type * from '../../shared/api-types';
