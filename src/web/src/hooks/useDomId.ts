/** @module React's useId, stripped to characters that are safe in CSS selectors (PatternFly queries by id). */
import { useId } from 'react';

export function useDomId(prefix: string): string {
  return `${prefix}-${useId().replace(/[^A-Za-z0-9_-]/g, '')}`;
}
