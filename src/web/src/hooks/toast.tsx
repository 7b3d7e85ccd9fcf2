/**
 * @module Toasts for the outcome of mutations. One AlertGroup for the app; pages call
 * `useToast().success(...)` or `.failure(...)`.
 */
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { Alert, AlertActionCloseButton, AlertGroup } from '@patternfly/react-core';

interface Toast {
  id: number;
  variant: 'success' | 'danger' | 'info';
  title: string;
  detail?: string;
}

interface ToastApi {
  success(title: string, detail?: string): void;
  failure(title: string, error: unknown): void;
  info(title: string, detail?: string): void;
}

const ToastContext = createContext<ToastApi | null>(null);

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const remove = useCallback((id: number) => setToasts((all) => all.filter((toast) => toast.id !== id)), []);
  const push = useCallback((toast: Omit<Toast, 'id'>) => {
    setToasts((all) => [...all.slice(-4), { ...toast, id: Date.now() + Math.random() }]);
  }, []);
  const toastApi = useMemo<ToastApi>(
    () => ({
      success: (title, detail) => push({ variant: 'success', title, detail }),
      info: (title, detail) => push({ variant: 'info', title, detail }),
      failure: (title, error) => push({ variant: 'danger', title, detail: errorMessage(error) }),
    }),
    [push],
  );
  return (
    <ToastContext.Provider value={toastApi}>
      {children}
      <AlertGroup isToast isLiveRegion>
        {toasts.map((toast) => (
          <Alert
            key={toast.id}
            variant={toast.variant}
            title={toast.title}
            timeout={toast.variant === 'danger' ? 12000 : 4000}
            onTimeout={() => remove(toast.id)}
            actionClose={<AlertActionCloseButton title={toast.title} onClose={() => remove(toast.id)} />}
          >
            {toast.detail}
          </Alert>
        ))}
      </AlertGroup>
    </ToastContext.Provider>
  );
}

export function useToast(): ToastApi {
  const toastApi = useContext(ToastContext);
  if (!toastApi) throw new Error('useToast needs a ToastProvider above it');
  return toastApi;
}
