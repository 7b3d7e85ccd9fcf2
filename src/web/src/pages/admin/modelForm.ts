/**
 * @module The admin model form's state and its request body. Upstream tokens are write-only:
 * the form never has the stored one, and a blank token on an existing deployment means "keep it".
 */
import i18n from '../../i18n';
import type { AdminModel, ModelKind } from '../../types';

export interface DeploymentForm {
  /** Set for deployments that exist on the server; they may keep a stored token. */
  existing?: { hasToken: boolean; maxInFlight: number | null; timeoutMs: number; enabled: boolean };
  url: string;
  upstreamModel: string;
  token: string;
  weight: string;
}

export interface ModelFormState {
  id: string;
  description: string;
  provider: string;
  kind: ModelKind;
  contextLength: string;
  features: string;
  inputPricePer1M: string;
  outputPricePer1M: string;
  /** Blank: cached prompt tokens cost the input price. */
  cachedInputPricePer1M: string;
  audioPricePerMinute: string;
  requestPrice: string;
  restricted: boolean;
  status: 'active' | 'deprecated';
  deployments: DeploymentForm[];
}

export const emptyDeployment = (): DeploymentForm => ({ url: '', upstreamModel: '', token: '', weight: '1' });

export function initialModelForm(model?: AdminModel): ModelFormState {
  if (!model) {
    return {
      id: '',
      description: '',
      provider: '',
      kind: 'chat',
      contextLength: '',
      features: '',
      inputPricePer1M: '0',
      outputPricePer1M: '0',
      cachedInputPricePer1M: '',
      audioPricePerMinute: '0',
      requestPrice: '0',
      restricted: false,
      status: 'active',
      deployments: [emptyDeployment()],
    };
  }
  return {
    id: model.id,
    description: model.description ?? '',
    provider: model.provider ?? '',
    kind: model.kind,
    contextLength: model.contextLength === null ? '' : String(model.contextLength),
    features: model.features.join(', '),
    inputPricePer1M: String(model.inputPricePer1M),
    outputPricePer1M: String(model.outputPricePer1M),
    cachedInputPricePer1M: model.cachedInputPricePer1M === null ? '' : String(model.cachedInputPricePer1M),
    audioPricePerMinute: String(model.audioPricePerMinute),
    requestPrice: String(model.requestPrice),
    restricted: model.restricted,
    status: model.status,
    deployments: model.deployments.map((d) => ({
      existing: { hasToken: d.hasToken, maxInFlight: d.maxInFlight, timeoutMs: d.timeoutMs, enabled: d.enabled },
      url: d.url,
      upstreamModel: d.upstreamModel,
      token: '',
      weight: String(d.weight),
    })),
  };
}

function price(label: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(i18n.t('modelForm.error.price', { field: label }));
  return n;
}

export function deploymentBody(d: DeploymentForm, index: number): Record<string, unknown> {
  if (!d.url.trim() || !d.upstreamModel.trim()) throw new Error(i18n.t('modelForm.error.deployment', { n: index + 1 }));
  const weight = Number(d.weight || '1');
  if (!Number.isInteger(weight) || weight < 1) throw new Error(i18n.t('modelForm.error.weight', { n: index + 1 }));
  return {
    url: d.url.trim(),
    upstreamModel: d.upstreamModel.trim(),
    weight,
    ...(d.token && { token: d.token }),
    // Sent back unchanged so saving the form does not reset settings it does not show.
    ...(d.existing && { maxInFlight: d.existing.maxInFlight, timeoutMs: d.existing.timeoutMs, enabled: d.existing.enabled }),
  };
}

/** The POST (with id) or PUT (without) body; throws with a message for the first problem. */
export function modelBody(form: ModelFormState, isEdit: boolean): Record<string, unknown> {
  if (!isEdit && !form.id.trim()) throw new Error(i18n.t('modelForm.error.id'));
  if (form.deployments.length === 0) throw new Error(i18n.t('modelForm.error.noDeployment'));
  const context = form.contextLength.trim() === '' ? null : Number(form.contextLength);
  if (context !== null && (!Number.isInteger(context) || context < 1)) throw new Error(i18n.t('modelForm.error.context'));
  return {
    ...(!isEdit && { id: form.id.trim() }),
    description: form.description.trim() || null,
    provider: form.provider.trim() || null,
    kind: form.kind,
    contextLength: context,
    features: form.features.split(',').map((f) => f.trim()).filter(Boolean),
    inputPricePer1M: price(i18n.t('prices.input'), form.inputPricePer1M),
    outputPricePer1M: price(i18n.t('prices.output'), form.outputPricePer1M),
    cachedInputPricePer1M: form.cachedInputPricePer1M.trim() === '' ? null : price(i18n.t('prices.cachedInput'), form.cachedInputPricePer1M),
    audioPricePerMinute: price(i18n.t('modelForm.error.priceAudio'), form.audioPricePerMinute),
    requestPrice: price(i18n.t('prices.request'), form.requestPrice),
    restricted: form.restricted,
    status: form.status,
    deployments: form.deployments.map(deploymentBody),
  };
}
