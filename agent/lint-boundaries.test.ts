import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Proves the import rules of eslint.config.js bite: each forbidden import below must be an
// error in the folder named, and each allowed one must pass.
const eslint = new ESLint({ cwd: process.cwd() });

async function importErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe("DESIGN.md's import rules", () => {
  it.each([
    ['agent/core/x.ts', "import pg from 'pg';\nexport const a = pg;\n"],
    ['agent/core/x.ts', "import { a } from '../source/db.js';\nexport const b = a;\n"],
    ['agent/core/x.ts', "import { readFile } from 'node:fs/promises';\nexport const b = readFile;\n"],
    ['agent/jobs/x.ts', "import pg from 'pg';\nexport const a = pg;\n"],
    ['agent/repository/x.ts', "import { S3Client } from '@aws-sdk/client-s3';\nexport const a = S3Client;\n"],
    ['agent/storage/local/x.ts', "import Database from 'better-sqlite3';\nexport const a = Database;\n"],
    ['agent/source/x.ts', "import Database from 'better-sqlite3';\nexport const a = Database;\n"],
    ['renderer/app/x.ts', "import { a } from '../../agent/repository/repository.js';\nexport const b = a;\n"],
    ['renderer/app/x.ts', "import { a } from '../../agent/core/criticality.js';\nexport const b = a;\n"],
    ['electron/main.ts', "import { a } from '../agent/jobs/backup.js';\nexport const b = a;\n"],
    ['electron/main.ts', "import pg from 'pg';\nexport const b = pg;\n"],
  ])('%s: forbidden import is an error', async (file, source) => {
    expect(await importErrors(file, source)).not.toEqual([]);
  });

  it.each([
    ['agent/core/x.ts', "import { z } from 'zod';\nimport { ERROR_CODES } from '../contract/errors.js';\nexport const a = [z, ERROR_CODES];\n"],
    ['agent/source/x.ts', "import pg from 'pg';\nexport const a = pg;\n"],
    ['agent/catalog/x.ts', "import pg from 'pg';\nexport const a = pg;\n"],
    ['agent/storage/s3/x.ts', "import { S3Client } from '@aws-sdk/client-s3';\nexport const a = S3Client;\n"],
    ['agent/cache/x.ts', "import Database from 'better-sqlite3';\nexport const a = Database;\n"],
    ['renderer/app/x.ts', "import { ERROR_CODES } from '../../agent/contract/errors.js';\nexport const b = ERROR_CODES;\n"],
    ['electron/main.ts', "import { ERROR_CODES } from '../agent/contract/errors.js';\nexport const b = ERROR_CODES;\n"],
  ])('%s: allowed import passes', async (file, source) => {
    expect(await importErrors(file, source)).toEqual([]);
  });
});
