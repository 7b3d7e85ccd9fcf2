/** @module The person's own usage, or (`?team=<id>`) the usage of a team they own. */
import { useSearchParams } from 'react-router';
import { FormSelect, FormSelectOption } from '@patternfly/react-core';
import { PageHeader } from '../components/PageHeader';
import { useTeams } from '../hooks/queries';
import { UsageView } from '../usage/UsageView';
import { useTranslation } from 'react-i18next';

export function UsagePage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const teams = useTeams();
  // Owners see their teams' usage; members see only their own keys' (a team's usage is its owners' to read).
  const owned = (teams.data?.teams ?? []).filter((o) => o.role === 'owner');
  const team = params.get('team') ?? '';
  const chosen = owned.find((o) => o.id === team);
  const pick = (id: string) => setParams((p) => { const n = new URLSearchParams(p); if (id) n.set('team', id); else n.delete('team'); return n; });
  return (
    <>
      <PageHeader
        title={chosen ? t('usagePage.teamTitle', { name: chosen.name }) : t('usagePage.title')}
        description={chosen ? t('usagePage.teamDescription') : t('usagePage.description')}
        actions={owned.length > 0 ? (
          <FormSelect id="usage-team" aria-label={t('usagePage.whose')} value={chosen ? team : ''} onChange={(_e, v) => pick(v)} style={{ minWidth: 220 }}>
            <FormSelectOption value="" label={t('usagePage.myKeys')} />
            {owned.map((o) => <FormSelectOption key={o.id} value={o.id} label={t('usagePage.team', { name: o.name })} />)}
          </FormSelect>
        ) : undefined}
      />
      <UsageView key={chosen ? team : 'me'} scope={chosen ? `team:${team}` : 'me'} />
    </>
  );
}
