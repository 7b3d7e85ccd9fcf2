/** @module Loads the feature flags (everything depends on them), then routes to the feature pages. */
import type { ReactNode } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { AppShell } from './components/AppShell';
import { ComingSoon } from './components/ComingSoon';
import { BackendError, Loading } from './components/States';
import { features, type Feature } from './features';
import { useFeatureFlags } from './hooks/useBackend';
import { NotFoundPage } from './pages/NotFoundPage';
import { SummarizePage } from './pages/SummarizePage';
import { TutorPage } from './pages/TutorPage';
import { useTranslation } from 'react-i18next';

export function App() {
  const { t } = useTranslation();
  const flags = useFeatureFlags();
  if (flags.isPending) return <Loading label={t('app.loading')} />;
  if (flags.isError) return <BackendError error={flags.error} onRetry={() => void flags.refetch()} />;

  const on = flags.data;
  const page = (feature: Feature, element: ReactNode) => (on[feature.key] ? element : <ComingSoon feature={feature} />);
  return (
    <Routes>
      <Route element={<AppShell flags={on} />}>
        <Route index element={page(features.summarize, <SummarizePage />)} />
        <Route path="summarize" element={<Navigate to="/" replace />} />
        <Route path={features.tutor.path.slice(1)} element={page(features.tutor, <TutorPage />)} />
        {/* The backend has no endpoints for these yet, so enabled or not they are not offered. */}
        <Route path={features.search.path.slice(1)} element={<ComingSoon feature={features.search} isEnabled={on[features.search.key]} />} />
        <Route path={features.assistant.path.slice(1)} element={<ComingSoon feature={features.assistant} isEnabled={on[features.assistant.key]} />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
