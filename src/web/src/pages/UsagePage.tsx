/** @module The person's own usage, or (`?team=<id>`) the usage of a team they own. */
import { useSearchParams } from 'react-router';
import { FormSelect, FormSelectOption } from '@patternfly/react-core';
import { PageHeader } from '../components/PageHeader';
import { useTeams } from '../hooks/queries';
import { UsageView } from '../usage/UsageView';

export function UsagePage() {
  const [params, setParams] = useSearchParams();
  const teams = useTeams();
  // Owners see their teams' usage; members see only their own keys' (a team's usage is its owners' to read).
  const owned = (teams.data?.teams ?? []).filter((t) => t.role === 'owner');
  const team = params.get('team') ?? '';
  const chosen = owned.find((t) => t.id === team);
  const pick = (id: string) => setParams((p) => { const n = new URLSearchParams(p); if (id) n.set('team', id); else n.delete('team'); return n; });
  return (
    <>
      <PageHeader
        title={chosen ? `Usage of team ${chosen.name}` : 'Usage'}
        description={chosen ? "Requests, tokens and cost of the team's API keys. Days are UTC; the page refreshes every 10 seconds." : 'Requests, tokens and cost of your API keys. Days are UTC; the page refreshes every 10 seconds.'}
        actions={owned.length > 0 ? (
          <FormSelect id="usage-team" aria-label="Whose usage" value={chosen ? team : ''} onChange={(_e, v) => pick(v)} style={{ minWidth: 220 }}>
            <FormSelectOption value="" label="My keys" />
            {owned.map((t) => <FormSelectOption key={t.id} value={t.id} label={`Team ${t.name}`} />)}
          </FormSelect>
        ) : undefined}
      />
      <UsageView key={chosen ? team : 'me'} scope={chosen ? `team:${team}` : 'me'} />
    </>
  );
}
