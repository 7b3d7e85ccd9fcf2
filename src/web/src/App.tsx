/** @module The route table. Everything except /login lives inside the signed-in shell. */
import { Navigate, Route, Routes } from 'react-router';
import { AppShell } from './components/AppShell';
import { AdminOnly } from './components/AdminOnly';
import { LoginPage } from './pages/LoginPage';
import { ModelsPage } from './pages/ModelsPage';
import { SubscriptionsPage } from './pages/SubscriptionsPage';
import { ApiKeysPage } from './pages/ApiKeysPage';
import { UsagePage } from './pages/UsagePage';
import { PlaygroundPage } from './pages/PlaygroundPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { AdminModelsPage } from './pages/admin/AdminModelsPage';
import { AdminUsersPage } from './pages/admin/AdminUsersPage';
import { ApprovalsPage } from './pages/admin/ApprovalsPage';
import { AdminUsagePage } from './pages/admin/AdminUsagePage';
import { AuditLogPage } from './pages/admin/AuditLogPage';
import { SettingsPage } from './pages/admin/SettingsPage';

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
        <Route path="playground" element={<PlaygroundPage />} />
        <Route path="admin" element={<AdminOnly />}>
          <Route index element={<Navigate to="/admin/models" replace />} />
          <Route path="models" element={<AdminModelsPage />} />
          <Route path="users" element={<AdminUsersPage />} />
          <Route path="subscriptions" element={<ApprovalsPage />} />
          <Route path="usage" element={<AdminUsagePage />} />
          <Route path="audit" element={<AuditLogPage />} />
          <Route path="settings" element={<SettingsPage />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
