/** @module The person's own usage. */
import { PageHeader } from '../components/PageHeader';
import { UsageView } from '../usage/UsageView';

export function UsagePage() {
  return (
    <>
      <PageHeader title="Usage" description="Requests, tokens and cost of your API keys. Days are UTC; the page refreshes every 10 seconds." />
      <UsageView scope="me" />
    </>
  );
}
