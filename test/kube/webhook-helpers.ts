import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request, type Agent } from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import jsonpatch from 'fast-json-patch';
import { ManualClock } from '../../src/clock/index.ts';
import {
  PodMutator,
  WebhookMetrics,
  WebhookServer,
  type InjectOptions,
  type JsonPatchOp,
  type WebhookServerOptions,
} from '../../src/kube/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { at } from './fixtures.ts';

type Json = Record<string, unknown>;

/** A certificate and key for 127.0.0.1 made by the `openssl` binary (Debian package `openssl`). */
export interface TestCert {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Runs `openssl` with `args`; rejects with its stderr (and says which package brings it when absent). */
function openssl(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 30_000 }, (err, _out, stderr) => {
      if (err === null) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new Error(missing ? 'the openssl binary is needed (Debian package openssl)' : stderr));
    });
  });
}

/** A fresh self-signed P-256 certificate for `127.0.0.1` and `localhost`, valid one day. */
export async function makeCert(cn = 'breakwater-webhook'): Promise<TestCert> {
  const dir = await mkdtemp(join(tmpdir(), 'bw-cert-'));
  try {
    const [cert, key] = [join(dir, 'tls.crt'), join(dir, 'tls.key')];
    await openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    return { cert: await readFile(cert), key: await readFile(key) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An answer of the webhook over HTTPS. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  readonly fingerprint: string;
}

/** One HTTPS request to the webhook at `port`, trusting `ca`. */
export function call(
  port: number,
  ca: Buffer | Buffer[],
  path: string,
  options: { method?: string; body?: string | Buffer; agent?: Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        ca,
        headers: { 'content-type': 'application/json' },
        ...(options.agent === undefined ? { agent: false } : { agent: options.agent }),
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            fingerprint,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An `admission.k8s.io/v1` review of creating `pod`. */
export function review(pod: unknown, overrides: Json = {}): Json {
  const namespace = at(pod, 'metadata', 'namespace') ?? 'ai-platform';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      ...overrides,
    },
  };
}

/** The `response` of an AdmissionReview answer, with its patch decoded. */
export interface Decoded {
  readonly uid: unknown;
  readonly allowed: unknown;
  readonly warnings: readonly string[];
  readonly patch: JsonPatchOp[] | null;
  readonly patchType: unknown;
}

export function decode(answer: Answer): Decoded {
  const body = JSON.parse(answer.body) as Json;
  const r = body['response'] as Json;
  const patch =
    typeof r['patch'] === 'string'
      ? (JSON.parse(Buffer.from(r['patch'], 'base64').toString()) as JsonPatchOp[])
      : null;
  return {
    uid: r['uid'],
    allowed: r['allowed'],
    warnings: (r['warnings'] as string[] | undefined) ?? [],
    patch,
    patchType: r['patchType'],
  };
}

/** `doc` with `patch` applied by an independent RFC 6902 implementation (validated as it goes). */
export function applyPatch(doc: unknown, patch: readonly JsonPatchOp[]): Json {
  return jsonpatch.applyPatch(structuredClone(doc), patch as jsonpatch.Operation[], true, false)
    .newDocument as Json;
}

/** A webhook on 127.0.0.1:0 with its files in a temp dir; `close()` removes everything. */
export interface Rig {
  readonly server: WebhookServer;
  readonly port: number;
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: TestCert;
  readonly clock: ManualClock;
  readonly metrics: WebhookMetrics;
  /** POSTs `body` (JSON-encoded unless a Buffer or string) to `path` (default /mutate). */
  post(body: unknown, path?: string): Promise<Answer>;
  close(): Promise<void>;
}

/** Starts a webhook serving `inject` options on a fresh certificate. */
export async function startRig(
  inject: InjectOptions,
  extra: Partial<WebhookServerOptions> & { cert?: TestCert; configMapText?: string | null } = {},
): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'bw-webhook-'));
  const cert = extra.cert ?? (await makeCert());
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await writeFile(certFile, cert.cert);
  await writeFile(keyFile, cert.key);
  const clock = new ManualClock();
  const metrics = new WebhookMetrics({ processMetrics: false });
  const server = await WebhookServer.start({
    host: '127.0.0.1',
    port: 0,
    certFile,
    keyFile,
    configMapFile: null,
    mutator: (text) => new PodMutator({ inject }, text ?? extra.configMapText ?? null),
    logger: silentLogger(),
    clock,
    metrics,
    pollIntervalMs: 0,
    ...extra,
  });
  const port = server.address.port;
  return {
    server,
    port,
    dir,
    certFile,
    keyFile,
    cert,
    clock,
    metrics,
    post: (body, path = '/mutate') =>
      call(port, cert.cert, path, {
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      }),
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
