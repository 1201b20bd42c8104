import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

/** The definition, element by element (canonicalJson takes a native shortcut for scalar arrays). */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${reference(record[k])}`);
  return `{${members.join(',')}}`;
}

describe('canonicalJson', () => {
  it('sorts keys, drops undefined, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: null, c: 'x' }], u: undefined })).toBe('{"a":[3,{"c":"x","d":null}],"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson('é"')).toBe(JSON.stringify('é"'));
  });

  it('writes arrays of scalars (wedding id lists) exactly as element by element', () => {
    expect(canonicalJson([['a', 'b\n'], [1, -0, 2.5, NaN, null, true], [undefined, 'x'], [{ b: 1, a: 2 }, 'y']])).toBe(
      reference([['a', 'b\n'], [1, -0, 2.5, NaN, null, true], [undefined, 'x'], [{ b: 1, a: 2 }, 'y']]),
    );
    fc.assert(fc.property(fc.jsonValue(), fc.array(fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined))), (json, scalars) => {
      expect(canonicalJson(json)).toBe(reference(json));
      expect(canonicalJson({ list: scalars })).toBe(reference({ list: scalars }));
    }));
  });
});
