import type { z } from 'zod';
import { WedsyncError } from './errors.js';

/** One field that failed validation, as the API reports it (`{ field, message }`). */
export interface FieldError {
  field: string;
  message: string;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

/** One line naming every bad field: "weddings: must be a positive integer; repo: Required". */
export function describeZodError(error: z.ZodError, fieldName: (path: string) => string = (p) => p): string {
  return fieldErrors(error)
    .map((f) => `${fieldName(f.field)}: ${f.message}`)
    .join('; ');
}

/** Parse with a zod schema or throw BAD_INPUT whose message names each bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string, fieldName?: (path: string) => string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new WedsyncError('BAD_INPUT', `${what}: ${describeZodError(result.error, fieldName)}`, {
      details: { fields: fieldErrors(result.error) },
    });
  }
  return result.data;
}
