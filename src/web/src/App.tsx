/**
 * @module The route table. Everything except /login lives inside the signed-in shell. The usage
 * charts and the admin pages load on first visit, so signing in and the key pages stay light.
 */
import { lazy } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { AppShell } from './components/AppShell';
import { AdminOnly } from './components/AdminOnly';
import { LoginPage } from './pages/LoginPage';
import { ModelsPage } from './pages/ModelsPage';
import { SubscriptionsPage } from './pages/SubscriptionsPage';
import { ApiKeysPage } from './pages/ApiKeysPage';
import { PlaygroundPage } from './pages/PlaygroundPage';
import { NotFoundPage } from './pages/NotFoundPage';

const TeamsPage = lazy(() => import('./pages/TeamsPage').then((m) => ({ default: m.TeamsPage })));
const TeamPage = lazy(() => import('./pages/TeamPage').then((m) => ({ default: m.TeamPage })));
const UsagePage = lazy(() => import('./pages/UsagePage').then((m) => ({ default: m.UsagePage })));
const AdminModelsPage = lazy(() => import('./pages/admin/AdminModelsPage').then((m) => ({ default: m.AdminModelsPage })));
const AdminUsersPage = lazy(() => import('./pages/admin/AdminUsersPage').then((m) => ({ default: m.AdminUsersPage })));
const ApprovalsPage = lazy(() => import('./pages/admin/ApprovalsPage').then((m) => ({ default: m.ApprovalsPage })));
const AdminUsagePage = lazy(() => import('./pages/admin/AdminUsagePage').then((m) => ({ default: m.AdminUsagePage })));
const AuditLogPage = lazy(() => import('./pages/admin/AuditLogPage').then((m) => ({ default: m.AuditLogPage })));
const SettingsPage = lazy(() => import('./pages/admin/SettingsPage').then((m) => ({ default: m.SettingsPage })));
const AdminTokensPage = lazy(() => import('./pages/admin/AdminTokensPage').then((m) => ({ default: m.AdminTokensPage })));
const AlertsPage = lazy(() => import('./pages/admin/AlertsPage').then((m) => ({ default: m.AlertsPage })));

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route element={<AppShell />}>
        <Route index element={<Navigate to="/models" replace />} />
        <Route path="models" element={<ModelsPage />} />
        <Route path="subscriptions" element={<SubscriptionsPage />} />
        <Route path="api-keys" element={<ApiKeysPage />} />
        <Route path="usage" element={<UsagePage />} />
        <Route path="teams" element={<TeamsPage />} />
        <Route path="teams/:id" element={<TeamPage />} />
        <Route path="playground" element={<PlaygroundPage />} />
        <Route path="admin" element={<AdminOnly />}>
          <Route index element={<Navigate to="/admin/models" replace />} />
          <Route path="models" element={<AdminModelsPage />} />
          <Route path="users" element={<AdminUsersPage />} />
          <Route path="subscriptions" element={<ApprovalsPage />} />
          <Route path="usage" element={<AdminUsagePage />} />
          <Route path="audit" element={<AuditLogPage />} />
          <Route path="settings" element={<SettingsPage />} />
          <Route path="tokens" element={<AdminTokensPage />} />
          <Route path="alerts" element={<AlertsPage />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
