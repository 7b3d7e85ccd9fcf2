/** @module Usage across every user, with a user filter and a by-user breakdown. */
import { PageHeader } from '../../components/PageHeader';
import { UsageView } from '../../usage/UsageView';

export function AdminUsagePage() {
  return (
    <>
      <PageHeader title="Usage (all users)" description="Everyone's requests, tokens and cost. Days are UTC." />
      <UsageView scope="admin" />
    </>
  );
}
