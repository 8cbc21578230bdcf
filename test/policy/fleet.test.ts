import { describe, expect, it } from 'vitest';
import { policyError } from '../helpers/policy.ts';
import { parsePolicy, REDACTED } from '../../src/policy/index.ts';

const UPSTREAMS = `upstreams:
  max-gpu: { url: http://max-serve:8000 }
  ollama-cpu: { url: http://ollama:11434, fleetMaxConcurrent: 4 }
`;

function parse(text: string, env: Record<string, string> = {}) {
  return parsePolicy(text, { file: '/etc/breakwater/policy.yaml', env });
}

const messageOf = (text: string): string => policyError(text, '/etc/breakwater/policy.yaml').message;

describe('policy fleet section', () => {
  it('fills every default when only redis and group are given', () => {
    const p = parse(`${UPSTREAMS}fleet: { redis: "redis://redis:6379/0", group: chat-api }\n`);
    expect(p.fleet).toEqual({
      redis: 'redis://redis:6379/0',
      group: 'chat-api',
      podId: null,
      quorum: 2,
      windowMs: 30_000,
      heartbeatMs: 1_000,
      leaseTtlMs: 10_000,
      commandTimeoutMs: 50,
      keyPrefix: 'breakwater:fleet:',
    });
    expect(p.upstreams.map((u) => u.fleetMaxConcurrent)).toEqual([null, 4]);
  });

  it('reads every key and keeps a lease at least three heartbeats long', () => {
    const p = parse(`${UPSTREAMS}fleet:
  redis: rediss://fleet:6380
  group: g1
  podId: pod-7
  quorum: 3
  window: 10s
  heartbeat: 500ms
  leaseTtl: 1s
  commandTimeout: 20ms
  keyPrefix: "bw:"
`);
    expect(p.fleet).toMatchObject({
      podId: 'pod-7',
      quorum: 3,
      windowMs: 10_000,
      heartbeatMs: 500,
      leaseTtlMs: 1_500,
      commandTimeoutMs: 20,
      keyPrefix: 'bw:',
    });
  });

  it('redacts a password in the redis URL and values from the environment when shown', () => {
    const p = parse(`${UPSTREAMS}fleet: { redis: "redis://:hunter2@redis:6379", group: "\${GROUP}" }\n`, {
      GROUP: 'chat-api',
    });
    const view = (p.redacted as { fleet: Record<string, unknown> }).fleet;
    expect(view.redis).toBe(`redis://${REDACTED}@redis:6379`);
    expect(view.group).toBe(REDACTED);
    expect(view.window).toBe('30s');
    expect(p.fleet!.group).toBe('chat-api');
  });

  it('names the missing key when group is absent', () => {
    expect(messageOf(`${UPSTREAMS}fleet: { redis: "redis://r:6379" }\n`)).toContain(
      'fleet.group: expected a name',
    );
  });

  it('rejects an unknown fleet key with a suggestion', () => {
    expect(messageOf(`${UPSTREAMS}fleet: { redis: "redis://r:6379", group: g, qorum: 2 }\n`)).toContain(
      'did you mean quorum?',
    );
  });

  it('rejects a heartbeat shorter than 100ms and a zero quorum', () => {
    const text = `${UPSTREAMS}fleet: { redis: "redis://r:6379", group: g, heartbeat: 10ms, quorum: 0 }\n`;
    const message = messageOf(text);
    expect(message).toContain(
      'fleet.heartbeat: expected a duration with a unit (250ms, 5s, 1m, 1h) of at least 100ms',
    );
    expect(message).toContain('fleet.quorum');
  });

  it('rejects a fleetMaxConcurrent below 1 and a pod id with a space', () => {
    const message = messageOf(`upstreams:
  a: { url: "http://a:1", fleetMaxConcurrent: 0 }
fleet: { redis: "redis://r:6379", group: g, podId: "pod 1" }
`);
    expect(message).toContain('upstreams.a.fleetMaxConcurrent');
    expect(message).toContain('fleet.podId: expected a pod id');
  });

  it('is off when the section is absent or null', () => {
    expect(parse(UPSTREAMS).fleet).toBeNull();
    expect(parse(`${UPSTREAMS}fleet: null\n`).fleet).toBeNull();
  });
});
