import { timingSafeEqual } from 'node:crypto';
import { WedsyncError } from '../contract/errors.js';
import { MANIFEST_FORMAT_VERSION, type Manifest, type SnapshotRoot, manifestSchema, snapshotRootSchema } from '../contract/manifest.js';
import { canonicalJson } from './canonical-json.js';
import { type BlobCodec, UnsealError } from './codec.js';
import { AAD, MANIFEST_MAC_PREFIX } from './format.js';

/**
 * Manifests (`snapshots/<snapshotId>`). Format 2 stores a root (contract SnapshotRoot: the
 * manifest without weddings, plus the tree list); format 1 a whole Manifest. Both: sealed JSON (AAD "wedsync:snapshot:v1:<snapshotId>") of a
 * contract `Manifest`, whose integrityHash is HMAC-SHA-256(macKey, "wedsync:manifest:v1\n" |
 * canonicalJson(manifest without integrityHash)).
 *
 * Two independent locks: GCM under the repository key (another repository's manifest does not
 * decrypt; a manifest renamed to another snapshot id does not either) and the HMAC (any change
 * to the content, even by someone holding the encryption key alone, is caught).
 */

export function integrityHash(codec: BlobCodec, withoutHash: object): string {
  return codec.mac(MANIFEST_MAC_PREFIX, Buffer.from(canonicalJson(withoutHash))).toString('hex');
}

export function sealManifest(codec: BlobCodec, manifest: Manifest | SnapshotRoot): Buffer {
  return codec.seal(Buffer.from(JSON.stringify(manifest)), AAD.snapshot(manifest.snapshotId));
}

/**
 * Decrypts, authenticates and parses `snapshots/<snapshotId>` of repository `repositoryId`:
 * a format-1 Manifest or a format-2 root.
 */
export function openManifest(codec: BlobCodec, snapshotId: string, bytes: Buffer, repositoryId: string): Manifest | SnapshotRoot {
  const fail = (reason: string, cause?: unknown) =>
    new WedsyncError('INTEGRITY', `snapshot ${snapshotId}: ${reason}`, { cause, details: { snapshotId } });
  let plain: Buffer;
  try {
    plain = codec.open(bytes, AAD.snapshot(snapshotId));
  } catch (err) {
    if (err instanceof UnsealError) {
      throw fail(`manifest cannot be decrypted: altered, renamed, or from another repository (${err.message})`, err);
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(plain.toString('utf8'));
  } catch (err) {
    throw fail('manifest is not JSON', err);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail('manifest is not a JSON object');
  const { integrityHash: stored, ...rest } = json as Record<string, unknown>;
  const version = rest['formatVersion'];
  if (typeof version === 'number' && version > MANIFEST_FORMAT_VERSION) {
    throw new WedsyncError(
      'REPO_VERSION_UNSUPPORTED',
      `snapshot ${snapshotId} has manifest format version ${version}; this program reads up to ${MANIFEST_FORMAT_VERSION}`,
      { details: { snapshotId, formatVersion: version } },
    );
  }
  // The hash covers the JSON as stored, not as parsed: fields a later minor writer added still count.
  const expected = Buffer.from(integrityHash(codec, rest), 'hex');
  const actual = typeof stored === 'string' && /^[0-9a-f]{64}$/.test(stored) ? Buffer.from(stored, 'hex') : null;
  if (!actual || !timingSafeEqual(expected, actual)) throw fail('manifest integrity hash does not match its content');
  const parsed = version === 2 ? snapshotRootSchema.safeParse(json) : manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`manifest does not match the schema: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad shape'}`);
  }
  const manifest = parsed.data;
  if (manifest.snapshotId !== snapshotId) throw fail(`manifest names snapshot ${manifest.snapshotId}`);
  if (manifest.repositoryId !== repositoryId) throw fail(`manifest belongs to repository ${manifest.repositoryId}`);
  return manifest;
}
