/**
 * Turns the Kubernetes API's OpenAPI v2 document (api/openapi-spec/swagger.json of the
 * k8s.io/kubernetes module, which scripts/provision.sh takes from the Go module proxy) into the
 * JSON-schema layout kubeconform reads from a local directory:
 *
 *   <out>/<kind>-<group's first label>-<version>.json   (deployment-apps-v1.json, service-v1.json)
 *
 * one standalone file per group/version/kind, in two variants: `<out>/standalone` and
 * `<out>/standalone-strict`. kubeconform -strict picks the "-strict" one; there, every object
 * that lists its properties refuses any other (`additionalProperties: false`), which is how a
 * misspelt field (`livenessProbe.httpGet.paht`) is caught rather than silently ignored.
 *
 * What the conversion has to get right, because the OpenAPI types are not JSON Schema types:
 * - `int-or-string` (IntOrString: ports, maxUnavailable) is a string or an integer;
 * - Quantity (`cpu: 1`, `memory: 256Mi`, HPA targets) is a string or a number;
 * - `apiVersion` and `kind` are pinned to the file's own group/version/kind, so a Deployment
 *   declared as `apps/v1beta1` or a kind spelt wrongly finds no schema instead of passing;
 * - every `$ref` points inside the same file (`#/definitions/...`, only the definitions the kind
 *   reaches), so each file stands alone, recursive types included.
 *
 *   node --import tsx scripts/k8s/openapi-to-json-schema.ts <swagger.json> <out dir>
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type Schema = Record<string, unknown>;
interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

const REF_PREFIX = '#/definitions/';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/** kubeconform's file name for a group/version/kind (pkg/registry: kind, then the group's first DNS label). */
export function schemaFileName({ group, version, kind }: GroupVersionKind): string {
  const groupLabel = group ? `-${group.split('.')[0]!.toLowerCase()}` : '';
  return `${kind.toLowerCase()}${groupLabel}-${version.toLowerCase()}.json`;
}

function isObject(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One definition rewritten as JSON Schema (draft 4, which kubeconform defaults to). */
function convert(node: unknown, strict: boolean): unknown {
  if (Array.isArray(node)) return node.map((item) => convert(item, strict));
  if (!isObject(node)) return node;
  if (node.format === 'int-or-string') return { description: node.description, oneOf: [{ type: 'string' }, { type: 'integer' }] };
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    // Vendor extensions describe server-side merge behaviour, not the shape of a document.
    if (key.startsWith('x-kubernetes-')) continue;
    out[key] = key === 'properties' && isObject(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, strict)])) : convert(value, strict);
  }
  if (strict && isObject(out.properties) && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function refsOf(node: unknown, found: Set<string>): void {
  if (Array.isArray(node)) for (const item of node) refsOf(item, found);
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX)) found.add(value.slice(REF_PREFIX.length));
      else refsOf(value, found);
    }
  }
}

/** The names of every definition `root` reaches, itself included. */
function closure(root: string, definitions: Record<string, Schema>): string[] {
  const seen = new Set<string>([root]);
  const queue = [root];
  while (queue.length > 0) {
    const found = new Set<string>();
    refsOf(definitions[queue.pop()!], found);
    for (const name of found) {
      if (seen.has(name)) continue;
      if (!definitions[name]) throw new Error(`swagger.json: ${root} refers to a missing definition ${name}`);
      seen.add(name);
      queue.push(name);
    }
  }
  return [...seen];
}

/** Every group/version/kind's schema, by file name, for one variant. */
export function kindSchemas(swagger: { definitions: Record<string, Schema> }, strict: boolean): Map<string, Schema> {
  const definitions: Record<string, Schema> = { ...swagger.definitions };
  if (definitions[QUANTITY]) definitions[QUANTITY] = { description: definitions[QUANTITY].description, oneOf: [{ type: 'string' }, { type: 'number' }] };
  const files = new Map<string, Schema>();
  for (const [name, definition] of Object.entries(definitions)) {
    const gvks = definition['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    // Kinds shared by many groups (DeleteOptions, WatchEvent) are no resource anyone writes.
    if (gvks.length !== 1) continue;
    const gvk = gvks[0] as GroupVersionKind;
    const own = convert(definition, strict) as Schema;
    const properties = { ...(own.properties as Schema | undefined) };
    const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    properties.apiVersion = { type: 'string', enum: [apiVersion] };
    properties.kind = { type: 'string', enum: [gvk.kind] };
    const reached = closure(name, definitions).filter((n) => n !== name);
    files.set(schemaFileName(gvk), {
      $schema: 'http://json-schema.org/draft-04/schema#',
      ...own,
      properties,
      required: [...new Set([...((own.required as string[] | undefined) ?? []), 'apiVersion', 'kind'])],
      definitions: Object.fromEntries(reached.sort().map((n) => [n, convert(definitions[n], strict)])),
    });
  }
  return files;
}

function main(): void {
  const [swaggerPath, outDir] = process.argv.slice(2);
  if (!swaggerPath || !outDir) {
    process.stderr.write('usage: openapi-to-json-schema.ts <swagger.json> <out dir>\n');
    process.exit(2);
  }
  const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8')) as { definitions: Record<string, Schema> };
  rmSync(outDir, { recursive: true, force: true });
  for (const strict of [false, true]) {
    const dir = path.join(outDir, strict ? 'standalone-strict' : 'standalone');
    mkdirSync(dir, { recursive: true });
    const files = kindSchemas(swagger, strict);
    for (const [file, schema] of files) writeFileSync(path.join(dir, file), JSON.stringify(schema));
    process.stderr.write(`[k8s-schemas] ${files.size} kinds -> ${dir}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
