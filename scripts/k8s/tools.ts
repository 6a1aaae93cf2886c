import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR } from '../services/process.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROVISION = path.join(HERE, '..', 'provision.sh');
const CONVERTER = path.join(HERE, 'openapi-to-json-schema.ts');

/** A `NAME="${NAME:-value}"` default of scripts/provision.sh, so the versions are written once. */
function provisionDefault(name: string): string {
  const value = new RegExp(`^${name}="\\$\\{${name}:-([^}]+)\\}"`, 'm').exec(readFileSync(PROVISION, 'utf8'))?.[1];
  if (!value) throw new Error(`scripts/provision.sh has no default for ${name}`);
  return process.env[name] ?? value;
}

export interface KubernetesTools {
  kustomize: string;
  kubeconform: string;
  /** The Kubernetes version the schemas are made from (the k8s.io/kubernetes module's). */
  schemaVersion: string;
  /** kubeconform's -schema-location template for the local schemas. */
  schemaLocation: string;
}

/**
 * kustomize, kubeconform and the JSON schemas, where scripts/provision.sh puts them (the schemas'
 * directory is named after the converter's hash, as there). Throws, naming the missing piece,
 * when provisioning has not run.
 */
export function kubernetesTools(): KubernetesTools {
  const kustomize = path.join(CACHE_DIR, `kustomize-${provisionDefault('KUSTOMIZE_VERSION')}`, 'kustomize');
  const kubeconform = path.join(CACHE_DIR, `kubeconform-${provisionDefault('KUBECONFORM_VERSION')}`, 'kubeconform');
  const schemaVersion = provisionDefault('K8S_SCHEMA_VERSION');
  const converterHash = createHash('sha256').update(readFileSync(CONVERTER)).digest('hex').slice(0, 12);
  const schemas = path.join(CACHE_DIR, `k8s-schemas-${schemaVersion}-${converterHash}`);
  for (const [what, file] of [
    ['kustomize', kustomize],
    ['kubeconform', kubeconform],
    ['the Kubernetes JSON schemas', path.join(schemas, '.complete')],
  ] as const) {
    if (!existsSync(file)) throw new Error(`${what} missing (${file}): run scripts/provision.sh`);
  }
  return { kustomize, kubeconform, schemaVersion, schemaLocation: `${schemas}/standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json` };
}
