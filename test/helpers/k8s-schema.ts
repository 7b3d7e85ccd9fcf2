/**
 * Offline schema validation of Kubernetes objects, as `kubectl apply --validate=strict` would do
 * against an API server: each object is mapped by apiVersion + kind to its model class from the
 * `kubernetes-models` packages (the Kubernetes OpenAPI that kubernetes-models 4.5 was generated
 * from; the prometheus-operator, Argo CD and sealed-secrets CRDs) and validated against that schema (types, required fields, enums, formats).
 *
 * Those schemas, like the API's OpenAPI, do not forbid unknown fields, but a strict API server
 * refuses them (and a lax one drops them: a misspelt `readinessProb` is a probe that silently does
 * not exist). So the validation also finds every field that the schema does not define: the
 * compiled validators read each property their schema defines on every object they visit, so the
 * object is validated through a proxy that records those reads, and any key of an object that the
 * validator did not read is unknown. Objects the schema leaves free-form (maps, RawExtension,
 * x-kubernetes-preserve-unknown-fields) read no property by name and are not checked further.
 *
 * Kinds without a model package are listed in HAND_CHECKED with a precise schema of their own
 * (unknown fields refused); any other kind is an error, never skipped.
 */
import AjvModule from 'ajv';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { SealedSecret } from '@kubernetes-models/sealed-secrets/bitnami.com/v1alpha1/SealedSecret';
import { validate as validateObjectMeta } from '@kubernetes-models/apimachinery/_schemas/IoK8sApimachineryPkgApisMetaV1ObjectMeta';
import { runValidateFunc } from '@kubernetes-models/validate';

/** Throws with the schema's message; `proto` is the prototype the object is validated as an instance of. */
type Validator = { proto?: object; validate(data: unknown): void };

/**
 * A model class's validate function, applied to a plain object as if it were an instance (the older
 * @kubernetes-models/base that sealed-secrets uses finds its schema through the prototype).
 */
const model = (cls: { prototype: { validate(): void } }): Validator => ({ proto: cls.prototype, validate: (data) => cls.prototype.validate.call(data) });

/** apiVersion/kind → the model that validates it. */
export const MODELS: Record<string, Validator> = Object.fromEntries(
  [Namespace, ServiceAccount, ConfigMap, Secret, Service, Deployment, StatefulSet, Job, PodDisruptionBudget, NetworkPolicy,
    Ingress, HorizontalPodAutoscaler, Role, RoleBinding, ServiceMonitor, PrometheusRule, Application, SealedSecret]
    .map((cls: any) => [`${cls.apiVersion}/${cls.kind}`, model(cls)]),
);

const Ajv = (AjvModule as any).default ?? AjvModule;
const ajv = new Ajv({ allErrors: true, strict: false });

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const intOrString = { anyOf: [{ type: 'integer' }, { type: 'string' }] };
const targetRef = {
  type: 'object', additionalProperties: false, required: ['kind', 'name'],
  properties: { kind: { enum: ['Service', ''] }, name: { type: 'string', minLength: 1 }, weight: { type: 'integer', minimum: 0, maximum: 256 } },
};
const headerActions = {
  type: 'array', items: {
    type: 'object', additionalProperties: false, required: ['name', 'action'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 255 },
      action: {
        type: 'object', additionalProperties: false, required: ['type'],
        properties: {
          type: { enum: ['Set', 'Delete'] },
          set: { type: 'object', additionalProperties: false, required: ['value'], properties: { value: { type: 'string' } } },
        },
      },
    },
  },
};

/**
 * OpenShift's Route (route.openshift.io/v1), from openshift/api route/v1/types.go (OpenShift 4.14+):
 * every field of RouteSpec, RouteTargetReference, RoutePort, TLSConfig and RouteHTTPHeaders, no other.
 */
const routeSchema = {
  type: 'object', additionalProperties: false, required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'route.openshift.io/v1' },
    kind: { const: 'Route' },
    metadata: { type: 'object' }, // validated as ObjectMeta below
    status: { type: 'object' },
    spec: {
      type: 'object', additionalProperties: false, required: ['to'],
      properties: {
        host: { type: 'string', maxLength: 253, pattern: '^([a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)(\\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*$' },
        subdomain: { type: 'string', maxLength: 253 },
        path: { type: 'string', pattern: '^/' },
        to: targetRef,
        alternateBackends: { type: 'array', maxItems: 3, items: targetRef },
        port: { type: 'object', additionalProperties: false, required: ['targetPort'], properties: { targetPort: intOrString } },
        tls: {
          type: 'object', additionalProperties: false, required: ['termination'],
          properties: {
            termination: { enum: ['edge', 'reencrypt', 'passthrough'] },
            certificate: { type: 'string' }, key: { type: 'string' }, caCertificate: { type: 'string' }, destinationCACertificate: { type: 'string' },
            insecureEdgeTerminationPolicy: { enum: ['Allow', 'None', 'Redirect', ''] },
            externalCertificate: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' } } },
          },
        },
        wildcardPolicy: { enum: ['None', 'Subdomain', ''] },
        httpHeaders: {
          type: 'object', additionalProperties: false,
          properties: {
            actions: {
              type: 'object', additionalProperties: false,
              properties: { request: headerActions, response: headerActions },
            },
          },
        },
      },
    },
  },
};
const routeValidate = ajv.compile(routeSchema);

/** Kinds no installed package models, each with its own precise check. Nothing else is accepted. */
export const HAND_CHECKED: Record<string, Validator> = {
  'route.openshift.io/v1/Route': { validate: (data: any) => {
    const messages: string[] = [];
    for (const [fn, value] of [[routeValidate, data], [validateObjectMeta, data?.metadata]] as const) {
      try {
        runValidateFunc(fn, value);
      } catch (e) {
        messages.push((e as Error).message.replace(/^data/, fn === routeValidate ? 'data' : 'data/metadata'));
      }
    }
    if (messages.length) throw new Error(messages.join(', '));
  } },
};

/** Runs a validator on `data` through a proxy that records, per object path, which properties it read. */
function validateWith(validator: Validator, data: object): string[] {
  const reads = new Map<string, Set<string>>();
  const wrap = (value: any, path: string): any => {
    if (value === null || typeof value !== 'object') return value;
    if (!reads.has(path)) reads.set(path, new Set());
    return new Proxy(value, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return v;
        if (!Array.isArray(target)) reads.get(path)!.add(key);
        return Object.hasOwn(target, key) ? wrap(v, `${path}/${key}`) : v;
      },
    });
  };
  const found: string[] = [];
  try {
    validator.validate(wrap(Object.assign(Object.create(validator.proto ?? Object.prototype), data), ''));
  } catch (e) {
    found.push((e as Error).message); // the validators report all errors, so every property was still visited
  }
  const walk = (value: any, path: string) => {
    if (value === null || typeof value !== 'object') return;
    const read = reads.get(path);
    if (!read) return; // never visited: inside a free-form value
    if (Array.isArray(value)) return value.forEach((v, i) => walk(v, `${path}/${i}`));
    if (read.size === 0) return; // free-form object: no property is known by name
    for (const k of Object.keys(value)) {
      if (!read.has(k)) found.push(`at ${path || '/'}: unknown field "${k}"`);
      else walk(value[k], `${path}/${k}`);
    }
  };
  walk(data, '');
  return found;
}

/**
 * Every schema problem of one object: a type, required field or enum the schema refuses, a field it
 * does not define, or a kind no schema here covers. Empty when the object is valid.
 */
export function schemaErrors(obj: any): string[] {
  const key = `${obj?.apiVersion}/${obj?.kind}`;
  const validator = MODELS[key] ?? HAND_CHECKED[key];
  const name = `${obj?.kind} ${obj?.metadata?.name}`;
  if (!validator) return [`${name}: no schema for ${key} (add its model to test/helpers/k8s-schema.ts, or a precise check to HAND_CHECKED)`];
  return validateWith(validator, obj).map((e) => `${name}: ${e}`);
}
