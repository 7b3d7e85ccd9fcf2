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
import { useTranslation } from 'react-i18next';
import i18n from '../../i18n';

/** Each role's label is `userForm.role.<value>`. */
const roles: Role[] = ['user', 'admin-readonly', 'admin'];

function optionalNumber(label: string, value: string, integer: boolean): number | null {
  if (value.trim() === '') return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new Error(i18n.t(integer ? 'userForm.error.whole' : 'userForm.error.number', { field: label }));
  return n;
}

export function UserFormModal({ user, onClose }: { user?: User; onClose: () => void }) {
  const { t } = useTranslation();
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
      toast.success(isEdit ? t('userForm.saved', { username: saved.username }) : t('userForm.created', { username: saved.username }));
      void queryClient.invalidateQueries({ queryKey: adminKeys.users });
      onClose();
    },
    onError: (error) => setFormError(error.message),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFormError(null);
    try {
      if (!isEdit && !username.trim()) throw new Error(t('userForm.error.username'));
      if (chosenRoles.length === 0) throw new Error(t('userForm.error.roles'));
      const body: Record<string, unknown> = {
        displayName: displayName.trim() || null,
        email: email.trim() || null,
        roles: chosenRoles,
        maxBudget: optionalNumber(t('userForm.maxBudgetShort'), maxBudget, false),
        budgetPeriod,
        rpm: optionalNumber(t('userForm.rpmShort'), rpm, true),
        tpm: optionalNumber(t('userForm.tpmShort'), tpm, true),
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
      <ModalHeader title={isEdit ? t('userForm.editTitle', { username: user.username }) : t('userForm.createTitle')} labelId="user-form-title" />
      <ModalBody>
        {formError && (
          <Alert variant="danger" isInline title={t('userForm.saveFailed')} style={{ marginBottom: 16 }}>
            {formError}
          </Alert>
        )}
        <Form id="user-form" onSubmit={submit}>
          {!isEdit && (
            <Field label={t('userForm.username')} fieldId="user-username" isRequired>
              <TextInput id="user-username" isRequired value={username} onChange={(_e, v) => setUsername(v)} />
            </Field>
          )}
          <Grid hasGutter md={6}>
            <GridItem>
              <Field label={t('userForm.displayName')} fieldId="user-display-name">
                <TextInput id="user-display-name" value={displayName} onChange={(_e, v) => setDisplayName(v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('userForm.email')} fieldId="user-email">
                <TextInput id="user-email" type="email" value={email} onChange={(_e, v) => setEmail(v)} />
              </Field>
            </GridItem>
          </Grid>
          <Field label={t('userForm.password')} fieldId="user-password" hint={isEdit ? t('userForm.passwordKeep') : t('userForm.passwordSso')}>
            <TextInput id="user-password" type="password" autoComplete="new-password" value={password} onChange={(_e, v) => setPassword(v)} />
          </Field>
          <FormGroup label={t('userForm.roles')} role="group" fieldId="user-roles" isInline>
            {roles.map((role) => (
              <Checkbox
                key={role}
                id={`user-role-${role}`}
                label={t(`userForm.role.${role}`)}
                isChecked={chosenRoles.includes(role)}
                onChange={(_e, on) => toggleRole(role, on)}
              />
            ))}
          </FormGroup>
          <Grid hasGutter md={6}>
            <GridItem>
              <Field label={t('userForm.maxBudget', { currency })} fieldId="user-budget" hint={t('keyForm.emptyNoBudget')}>
                <TextInput id="user-budget" type="number" min={0} step="any" value={maxBudget} onChange={(_e, v) => setMaxBudget(v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('userForm.budgetPeriod')} fieldId="user-period">
                <FormSelect id="user-period" value={budgetPeriod} onChange={(_e, v) => setBudgetPeriod(v as BudgetPeriod)}>
                  {(['monthly', 'weekly', 'daily', 'none'] as const).map((p) => (
                    <FormSelectOption key={p} value={p} label={t(`keyForm.period.${p}`)} />
                  ))}
                </FormSelect>
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('userForm.rpm')} fieldId="user-rpm" hint={t('keyForm.emptyNoLimit')}>
                <TextInput id="user-rpm" type="number" min={1} step={1} value={rpm} onChange={(_e, v) => setRpm(v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('userForm.tpm')} fieldId="user-tpm" hint={t('keyForm.emptyNoLimit')}>
                <TextInput id="user-tpm" type="number" min={1} step={1} value={tpm} onChange={(_e, v) => setTpm(v)} />
              </Field>
            </GridItem>
          </Grid>
          {isEdit && (
            <Switch id="user-disabled" label={t('userForm.disabled')} isChecked={disabled} onChange={(_e, on) => setDisabled(on)} />
          )}
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="user-form" variant="primary" isLoading={save.isPending} isDisabled={save.isPending}>
          {isEdit ? t('userForm.save') : t('userForm.create')}
        </Button>
        <Button variant="link" onClick={onClose}>
          {t('common.cancel')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
