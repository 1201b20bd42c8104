import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';

describe('configuration: flags > environment > config file > defaults', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-config-'));
    file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ databaseUrl: 'postgres://file@db/file', repo: '/from/file', photoStore: 's3://photos/file', parallelism: 3 }));
    await writeFile(join(dir, 'pass'), 'from file\n');
  });

  it('takes each value from the highest source that has it', () => {
    const c = resolveConfig({ config: file, repo: '/from/flag' }, { DATABASE_URL: 'postgres://env@db/env', WEDSYNC_REPO: '/from/env', WEDSYNC_HOME: dir });
    expect(c.repo).toBe('/from/flag');
    expect(c.sources.repo).toBe('flag');
    expect(c.databaseUrl).toBe('postgres://env@db/env');
    expect(c.sources.databaseUrl).toBe('env');
    expect(c.photoStore).toBe('s3://photos/file');
    expect(c.sources.photoStore).toBe('file');
    expect(c.parallelism).toBe(3);
    expect(c.logLevel).toBe('info');
    expect(c.sources.logLevel).toBe('default');
  });

  it('reads $WEDSYNC_HOME/config.json when no file is named, and defaults under the home', () => {
    const c = resolveConfig({}, { WEDSYNC_HOME: dir });
    expect(c.repo).toBe('/from/file');
    const empty = resolveConfig({}, { WEDSYNC_HOME: join(dir, 'nothing-here') });
    expect(empty.repo).toBe(join(dir, 'nothing-here', 'repository'));
    expect(empty.photoStore).toBe(join(dir, 'nothing-here', 'photos'));
    expect(empty.databaseUrl).toBeUndefined();
  });

  it('passphrase: env beats a file; a trailing newline is not part of it', () => {
    expect(resolveConfig({}, { WEDSYNC_HOME: dir, WEDSYNC_PASSPHRASE_FILE: join(dir, 'pass') }).passphrase).toBe('from file');
    expect(resolveConfig({}, { WEDSYNC_HOME: dir, WEDSYNC_PASSPHRASE: 'from env', WEDSYNC_PASSPHRASE_FILE: join(dir, 'pass') }).passphrase).toBe('from env');
  });

  it.each([
    [{}, { DATABASE_URL: 'mysql://x', WEDSYNC_HOME: '/tmp/none' }, /DATABASE_URL must be a postgres:\/\//],
    [{ databaseUrl: 'nope' }, { WEDSYNC_HOME: '/tmp/none' }, /--database-url must be a postgres/],
    [{ config: '/does/not/exist.json' }, {}, /config file \/does\/not\/exist.json does not exist/],
    [{}, { WEDSYNC_HOME: '/tmp/none', WEDSYNC_PASSPHRASE_FILE: '/no/such/file' }, /WEDSYNC_PASSPHRASE_FILE: cannot read passphrase file/],
    [{ logLevel: 'loud' }, { WEDSYNC_HOME: '/tmp/none' }, /log level/],
    [{}, { WEDSYNC_HOME: '/tmp/none', WEDSYNC_PARALLELISM: '0' }, /parallelism must be an integer/],
  ])('rejects bad values with a message naming them (%j %j)', (flags, env, message) => {
    expect(() => resolveConfig(flags, env)).toThrow(message);
  });

  it('rejects a malformed config file naming the file and the field', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ parallelism: 'many', surprise: true }));
    expect(() => resolveConfig({ config: bad }, {})).toThrow(/bad\.json: .*parallelism/);
    await writeFile(bad, '{ not json');
    expect(() => resolveConfig({ config: bad }, {})).toThrow(/bad\.json is not valid JSON/);
  });

  it('timeouts: --lock-timeout > WEDSYNC_LOCK_TIMEOUT > lockTimeout, durations as 500ms/30s/2m/1h; S3 timeouts from env or file; defaults 2m, 10s, 30s', async () => {
    const timeouts = join(dir, 'timeouts.json');
    await writeFile(timeouts, JSON.stringify({ lockTimeout: '45s', s3: { connectTimeout: '3s', requestTimeout: 2500 } }));
    const defaults = resolveConfig({}, { WEDSYNC_HOME: join(dir, 'nothing-here') });
    expect(defaults.lockTimeoutMs).toBe(120_000);
    expect(defaults.s3).toEqual({ connectTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
    const fromFile = resolveConfig({ config: timeouts }, {});
    expect(fromFile.lockTimeoutMs).toBe(45_000);
    expect(fromFile.s3).toEqual({ connectTimeoutMs: 3000, requestTimeoutMs: 2500 });
    expect(resolveConfig({ config: timeouts }, { WEDSYNC_LOCK_TIMEOUT: '1.5m', WEDSYNC_S3_REQUEST_TIMEOUT: '750ms' })).toMatchObject({ lockTimeoutMs: 90_000, s3: { requestTimeoutMs: 750 } });
    const flag = resolveConfig({ config: timeouts, lockTimeout: '300ms' }, { WEDSYNC_LOCK_TIMEOUT: '1h' });
    expect(flag.lockTimeoutMs).toBe(300);
    expect(flag.sources.lockTimeout).toBe('flag');
  });

  it.each([
    [{ lockTimeout: '5 minutes' }, {}, /--lock-timeout must be a duration such as 500ms, 30s, 2m or 1h \(got "5 minutes"\)/],
    [{ lockTimeout: '0ms' }, {}, /--lock-timeout must be from 1ms to 24h/],
    [{}, { WEDSYNC_LOCK_TIMEOUT: '25h' }, /WEDSYNC_LOCK_TIMEOUT must be from 1ms to 24h/],
    [{}, { WEDSYNC_S3_REQUEST_TIMEOUT: '-1s' }, /WEDSYNC_S3_REQUEST_TIMEOUT must be a duration/],
    [{}, { WEDSYNC_S3_CONNECT_TIMEOUT: '1ms' }, /WEDSYNC_S3_CONNECT_TIMEOUT must be from 100ms to 10m/],
  ])('rejects a bad timeout naming where it came from (%j %j)', (flags, env, message) => {
    expect(() => resolveConfig(flags, { WEDSYNC_HOME: '/tmp/none', ...env })).toThrow(message);
  });

  it('rejects a bad timeout in a config file naming the file and the field', async () => {
    const bad = join(dir, 'bad-timeout.json');
    await writeFile(bad, JSON.stringify({ s3: { requestTimeout: 'soon' } }));
    expect(() => resolveConfig({ config: bad }, {})).toThrow(/bad-timeout\.json: .*s3\.requestTimeout.*must be a duration/);
  });
});
