import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { injectManifests } from '../../src/kube/index.ts';
import { options, workload } from './fixtures.ts';
import { schemaProblems } from './schema.ts';

describe('schemaProblems', () => {
  const deployment = (): Record<string, unknown> => parse(workload('Deployment')) as Record<string, unknown>;

  it('reports nothing when the object is valid', () => {
    expect(schemaProblems(deployment())).toEqual([]);
  });

  it('reports an unknown field when a key is misspelled', () => {
    const text = injectManifests(workload('Deployment'), options()).output.replace(
      'readOnlyRootFilesystem',
      'readOnlyRootFileSystem',
    );
    expect(schemaProblems(parse(text) as Record<string, unknown>)).toEqual([
      'apps/v1/Deployment: unknown field /spec/template/spec/initContainers/0/securityContext/readOnlyRootFileSystem',
    ]);
  });

  it('reports a schema error when a value has the wrong type', () => {
    const text = workload('Deployment').replace('image: example/app:1', 'image: [example/app:1]');
    expect(schemaProblems(parse(text) as Record<string, unknown>).join('\n')).toMatch(
      /containers\/0\/image must be string/,
    );
  });

  it('accepts free-form maps when labels and annotations carry any keys', () => {
    const obj = deployment() as { metadata: Record<string, unknown> };
    obj.metadata['labels'] = { 'example.com/anything': 'x' };
    obj.metadata['annotations'] = { 'checksum/config': 'abc' };
    expect(schemaProblems(obj)).toEqual([]);
  });

  it('reports a kind it has no schema for', () => {
    expect(schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget' })).toEqual([
      'example.com/v1/Widget: no schema known to the test',
    ]);
  });
});
