import { describe, expect, it } from 'vitest';
import { splitRestoreDdl, statements, unquoteQualified } from './restore-plan-ddl.js';

// As agent/source/introspect.ts writes it.
const PRE = [
  'CREATE SCHEMA IF NOT EXISTS "public";',
  `CREATE TYPE "public"."mood" AS ENUM ('happy', 'tense');`,
  'CREATE TABLE "public"."weddings" (\n  "id" uuid DEFAULT gen_random_uuid() NOT NULL,\n  "slug" text NOT NULL,\n  CONSTRAINT "weddings_pkey" PRIMARY KEY (id),\n  CONSTRAINT "weddings_slug_key" UNIQUE (slug)\n);',
  'CREATE TABLE "public"."guests" (\n  "id" uuid NOT NULL,\n  "wedding_id" uuid NOT NULL,\n  "n" integer,\n  CONSTRAINT "guests_n_check" CHECK ((n > 0)),\n  CONSTRAINT "guests_pkey" PRIMARY KEY (id)\n);',
  'CREATE TABLE "public"."notes" (\n  "body" text\n);',
].join('\n');
const POST = [
  'CREATE INDEX guests_wedding_id_idx ON public.guests USING btree (wedding_id);',
  'CREATE UNIQUE INDEX "Odd Index" ON public."weddings" USING btree (slug, id);',
  'ALTER TABLE "public"."guests" ADD CONSTRAINT "guests_wedding_id_fkey" FOREIGN KEY (wedding_id) REFERENCES weddings(id) ON DELETE CASCADE;',
].join('\n');

describe('splitting a snapshot DDL for a fast load into an empty database', () => {
  it('moves key constraints and indexes after each table, foreign keys to the end', () => {
    const ddl = splitRestoreDdl(PRE, POST, ['public.weddings', 'public.guests', 'public.notes']);
    expect(ddl.preData).toContain('CREATE TABLE "public"."weddings" (\n  "id" uuid DEFAULT gen_random_uuid() NOT NULL,\n  "slug" text NOT NULL\n);');
    expect(ddl.preData).toContain('  "n" integer,\n  CONSTRAINT "guests_n_check" CHECK ((n > 0))\n);');
    expect(ddl.preData).toContain('CREATE TABLE "public"."notes" (\n  "body" text\n);');
    expect(ddl.preData).toContain(`CREATE TYPE "public"."mood"`);
    expect(ddl.preData).not.toMatch(/PRIMARY KEY|UNIQUE/);
    expect(ddl.perTable.get('public.weddings')).toEqual([
      'ALTER TABLE "public"."weddings" ADD CONSTRAINT "weddings_pkey" PRIMARY KEY (id);',
      'ALTER TABLE "public"."weddings" ADD CONSTRAINT "weddings_slug_key" UNIQUE (slug);',
      'CREATE UNIQUE INDEX "Odd Index" ON public."weddings" USING btree (slug, id);',
    ]);
    expect(ddl.perTable.get('public.guests')).toEqual([
      'ALTER TABLE "public"."guests" ADD CONSTRAINT "guests_pkey" PRIMARY KEY (id);',
      'CREATE INDEX guests_wedding_id_idx ON public.guests USING btree (wedding_id);',
    ]);
    expect(ddl.postData).toEqual([expect.stringContaining('FOREIGN KEY')]);
  });

  it('leaves what it does not recognise where it was', () => {
    const ddl = splitRestoreDdl(PRE, POST, ['public.guests']);
    expect(ddl.preData).toContain('CONSTRAINT "weddings_pkey" PRIMARY KEY (id)');
    expect(ddl.postData).toHaveLength(2);
    expect(statements('A;\nB;\n\n')).toEqual(['A;', 'B;']);
    expect(unquoteQualified('"a""b".c')).toBe('a"b.c');
    expect(unquoteQualified('a.b.c')).toBeNull();
  });
});
