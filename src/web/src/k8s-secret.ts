/**
 * @module A key as a Kubernetes Secret (`stringData.api_token`, what the stack reads as
 * API_TOKEN), with the command that seals it for git — the same manifest as
 * `litemaas keys create --output k8s-secret`.
 */

/** The Secret's name for a key: its name as a DNS label, then `-api-token`. */
export function secretName(keyName: string): string {
  const slug = keyName.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50);
  return `${slug || 'litemaas'}-api-token`;
}

export function secretManifest(keyName: string, key: string): string {
  const name = secretName(keyName);
  return [
    `# Seal it before it goes to git (the Sealed Secrets controller's certificate):`,
    `#   kubeseal --format yaml -n <namespace> < ${name}.yaml > ${name}.sealedsecret.yaml`,
    `apiVersion: v1`,
    `kind: Secret`,
    `metadata:`,
    `  name: ${name}`,
    `  labels:`,
    `    app.kubernetes.io/part-of: litemaas`,
    `type: Opaque`,
    `stringData:`,
    `  api_token: ${JSON.stringify(key)}`,
    ``,
  ].join('\n');
}
