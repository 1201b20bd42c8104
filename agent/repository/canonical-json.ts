/**
 * Canonical JSON for hashing: object keys sorted by UTF-16 code unit order, no whitespace,
 * members whose value is undefined dropped (as JSON.stringify drops them), arrays in order.
 * The same value always serialises to the same bytes, whatever order its keys were built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    // JSON.stringify returns undefined for undefined/functions/symbols; inside arrays JSON writes null.
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) {
    // Arrays of strings, numbers, booleans and nulls (a root's wedding ids: one per wedding)
    // serialise exactly as JSON.stringify writes them, in one native call.
    if (value.every(isPlainScalar)) return JSON.stringify(value);
    return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

/** A value JSON.stringify writes the same way inside an array as canonicalJson does. */
function isPlainScalar(item: unknown): boolean {
  const t = typeof item;
  return item === null || t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(item as number));
}
