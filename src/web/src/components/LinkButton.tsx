/** @module A PatternFly button that navigates inside the app (a react-router Link underneath). */
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { Button, type ButtonProps } from '@patternfly/react-core';

export function LinkButton({ to, children, variant = 'primary', ...rest }: { to: string; children: ReactNode } & Omit<ButtonProps, 'component'>) {
  // Button forwards unknown props to its component; `to` is Link's, so it is not in ButtonProps.
  const linkProps = { to } as object;
  return (
    <Button variant={variant} component={Link} {...linkProps} {...rest}>
      {children}
    </Button>
  );
}
