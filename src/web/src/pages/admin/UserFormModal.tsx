/** @module Create a user, or change one's roles, budget, limits, password or disabled flag. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Checkbox,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  Switch,
  TextInput,
} from '@patternfly/react-core';
import { api } from '../../api';
import { Field } from '../../components/Field';
import { adminKeys } from '../../hooks/adminQueries';
import { useConfig } from '../../hooks/useConfig';
import { useToast } from '../../hooks/toast';
import type { BudgetPeriod, Role, User } from '../../types';

const roles: { value: Role; label: string }[] = [
  { value: 'user', label: 'User' },
  { value: 'admin-readonly', label: 'Admin (read-only)' },
  { value: 'admin', label: 'Admin' },
];

function optionalNumber(label: string, value: string, integer: boolean): number | null {
  if (value.trim() === '') return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new Error(`${label} must be ${integer ? 'a whole number' : 'a positive number'}, or empty.`);
  return n;
}

export function UserFormModal({ user, onClose }: { user?: User; onClose: () => void }) {
  const isEdit = !!user;
  const currency = useConfig().data?.currency ?? 'USD';
  const toast = useToast();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState(user?.username ?? '');
  const [displayName, setDisplayName] = useState(user?.displayName ?? '');
  const [email, setEmail] = useState(user?.email ?? '');
  const [password, setPassword] = useState('');
  const [chosenRoles, setRoles] = useState<Role[]>(user?.roles ?? ['user']);
  const [maxBudget, setMaxBudget] = useState(user?.maxBudget == null ? '' : String(user.maxBudget));
  const [budgetPeriod, setBudgetPeriod] = useState<BudgetPeriod>(user?.budgetPeriod ?? 'monthly');
  const [rpm, setRpm] = useState(user?.rpm == null ? '' : String(user.rpm));
  const [tpm, setTpm] = useState(user?.tpm == null ? '' : String(user.tpm));
  const [disabled, setDisabled] = useState(user?.disabled ?? false);
  const [formError, setFormError] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      isEdit ? api<User>('PATCH', `/admin/users/${encodeURIComponent(user.id)}`, body) : api<User>('POST', '/admin/users', body),
    onSuccess: (saved) => {
      toast.success(isEdit ? `User ${saved.username} saved` : `User ${saved.username} created`);
      void queryClient.invalidateQueries({ queryKey: adminKeys.users });
      onClose();
    },
    onError: (error) => setFormError(error.message),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFormError(null);
    try {
      if (!isEdit && !username.trim()) throw new Error('Enter a username.');
      if (chosenRoles.length === 0) throw new Error('Choose at least one role.');
      const body: Record<string, unknown> = {
        displayName: displayName.trim() || null,
        email: email.trim() || null,
        roles: chosenRoles,
        maxBudget: optionalNumber('Max budget', maxBudget, false),
        budgetPeriod,
        rpm: optionalNumber('Requests per minute', rpm, true),
        tpm: optionalNumber('Tokens per minute', tpm, true),
      };
      if (password) body.password = password;
      if (isEdit) body.disabled = disabled;
      else body.username = username.trim();
      save.mutate(body);
    } catch (error) {
      setFormError((error as Error).message);
    }
  };

  const toggleRole = (role: Role, on: boolean) => setRoles((current) => (on ? [...current, role] : current.filter((r) => r !== role)));

  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby="user-form-title">
      <ModalHeader title={isEdit ? `Edit user: ${user.username}` : 'Create user'} labelId="user-form-title" />
      <ModalBody>
        {formError && (
          <Alert variant="danger" isInline title="Could not save the user" style={{ marginBottom: 16 }}>
            {formError}
          </Alert>
        )}
        <Form id="user-form" onSubmit={submit}>
          {!isEdit && (
            <Field label="Username" fieldId="user-username" isRequired>
              <TextInput id="user-username" isRequired value={username} onChange={(_e, v) => setUsername(v)} />
            </Field>
          )}
          <Grid hasGutter md={6}>
            <GridItem>
              <Field label="Display name" fieldId="user-display-name">
                <TextInput id="user-display-name" value={displayName} onChange={(_e, v) => setDisplayName(v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label="Email" fieldId="user-email">
                <TextInput id="user-email" type="email" value={email} onChange={(_e, v) => setEmail(v)} />
              </Field>
            </GridItem>
          </Grid>
          <Field label="Password" fieldId="user-password" hint={isEdit ? 'Leave empty to keep the current password.' : 'Leave empty for a user who signs in with single sign-on.'}>
            <TextInput id="user-password" type="password" autoComplete="new-password" value={password} onChange={(_e, v) => setPassword(v)} />
          </Field>
          <FormGroup label="Roles" role="group" fieldId="user-roles" isInline>
            {roles.map((role) => (
              <Checkbox
                key={role.value}
                id={`user-role-${role.value}`}
                label={role.label}
                isChecked={chosenRoles.includes(role.value)}
                onChange={(_e, on) => toggleRole(role.value, on)}
              />
            ))}
          </FormGroup>
          <Grid hasGutter md={6}>
            <GridItem>
              <Field label={`Max budget (${currency})`} fieldId="user-budget" hint="Empty: no budget.">
                <TextInput id="user-budget" type="number" min={0} step="any" value={maxBudget} onChange={(_e, v) => setMaxBudget(v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label="Budget period" fieldId="user-period">
                <FormSelect id="user-period" value={budgetPeriod} onChange={(_e, v) => setBudgetPeriod(v as BudgetPeriod)}>
                  <FormSelectOption value="monthly" label="Monthly" />
                  <FormSelectOption value="weekly" label="Weekly" />
                  <FormSelectOption value="daily" label="Daily" />
                  <FormSelectOption value="none" label="Total (never resets)" />
                </FormSelect>
              </Field>
            </GridItem>
            <GridItem>
              <Field label="Requests per minute (RPM)" fieldId="user-rpm" hint="Empty: no limit.">
                <TextInput id="user-rpm" type="number" min={1} step={1} value={rpm} onChange={(_e, v) => setRpm(v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label="Tokens per minute (TPM)" fieldId="user-tpm" hint="Empty: no limit.">
                <TextInput id="user-tpm" type="number" min={1} step={1} value={tpm} onChange={(_e, v) => setTpm(v)} />
              </Field>
            </GridItem>
          </Grid>
          {isEdit && (
            <Switch id="user-disabled" label="Disabled (cannot sign in; keys refused)" isChecked={disabled} onChange={(_e, on) => setDisabled(on)} />
          )}
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="user-form" variant="primary" isLoading={save.isPending} isDisabled={save.isPending}>
          {isEdit ? 'Save' : 'Create'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
