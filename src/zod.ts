// The zod functions curate uses, re-exported by name: every module imports `* as z` from
// here, not `{ z }` from 'zod'. zod's `z` is a namespace holding all of zod, its 64 locale
// files among them; a bundler keeps every member of a namespace it cannot follow, so the
// CLI bundle (scripts/bundle.js) carried ~600 kB of zod it never ran, parsed at each start.
export { array, boolean, enum, literal, looseObject, number, object, record, string, union, unknown, ZodError, ZodType } from 'zod';
export type { infer, input, output } from 'zod';
export type { $ZodIssue } from 'zod/v4/core';
