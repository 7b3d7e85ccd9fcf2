/** @module The model gallery: search, cards, and the detail modal (its model id lives in `?model=`). */
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import {
  Gallery,
  PageSection,
  SearchInput,
  ToggleGroup,
  ToggleGroupItem,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import CubesIcon from '@patternfly/react-icons/dist/esm/icons/cubes-icon';
import { ModelCard } from '../components/ModelCard';
import { ModelDetailModal } from '../components/ModelDetailModal';
import { PageHeader } from '../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../components/States';
import { useModels } from '../hooks/queries';
import type { Model } from '../types';
import { useTranslation } from 'react-i18next';

function matches(model: Model, search: string): boolean {
  const needle = search.trim().toLowerCase();
  if (!needle) return true;
  return [model.id, model.provider ?? '', model.description ?? '', ...model.features].some((text) => text.toLowerCase().includes(needle));
}

export function ModelsPage() {
  const { t } = useTranslation();
  const models = useModels();
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState('');
  const [onlyMine, setOnlyMine] = useState(false);
  const selectedId = params.get('model');

  const shown = useMemo(
    () =>
      (models.data ?? []).filter(
        (model) => matches(model, search) && (!onlyMine || (model.subscription && model.subscription.status !== 'cancelled')),
      ),
    [models.data, search, onlyMine],
  );
  const selected = models.data?.find((model) => model.id === selectedId);

  const open = (id: string | null) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      if (id) next.set('model', id);
      else next.delete('model');
      return next;
    });

  return (
    <>
      <PageHeader title={t('models.title')} description={t('models.description')} />
      <PageSection isFilled>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <SearchInput
                aria-label={t('models.search')}
                placeholder={t('models.searchPlaceholder')}
                value={search}
                onChange={(_event, value) => setSearch(value)}
                onClear={() => setSearch('')}
              />
            </ToolbarItem>
            <ToolbarItem>
              <ToggleGroup aria-label={t('models.which')}>
                <ToggleGroupItem text={t('models.all')} isSelected={!onlyMine} onChange={() => setOnlyMine(false)} />
                <ToggleGroupItem text={t('models.mine')} isSelected={onlyMine} onChange={() => setOnlyMine(true)} />
              </ToggleGroup>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {models.isPending && <Loading label={t('models.loading')} />}
        {models.isError && <ErrorAlert error={models.error} title={t('models.loadError')} />}
        {models.isSuccess && models.data.length === 0 && (
          <Empty title={t('models.none')} icon={CubesIcon}>
            {t('models.noneBody')}
          </Empty>
        )}
        {models.isSuccess && models.data.length > 0 && shown.length === 0 && (
          <Empty title={t('models.noMatch')} icon={CubesIcon}>
            {onlyMine ? t('models.noMatchBodyMine') : t('models.noMatchBody')}
          </Empty>
        )}
        <Gallery hasGutter minWidths={{ default: '100%', sm: '280px' }}>
          {shown.map((model) => (
            <ModelCard key={model.id} model={model} onOpen={() => open(model.id)} />
          ))}
        </Gallery>
      </PageSection>
      {selected && <ModelDetailModal model={selected} onClose={() => open(null)} />}
    </>
  );
}
