import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { AUTH_MATRIX, CREDENTIALS, renderAuthMatrix } from './auth-matrix';

const DOC = join(__dirname, '..', '..', '..', 'docs', 'auth-matrix.md');

describe('auth matrix', () => {
  it('docs/auth-matrix.md is generated from the matrix (LAPI_WRITE_DOCS=1 rewrites it)', async () => {
    // Formatted as `prettier --check` wants the file.
    const rendered = await format(renderAuthMatrix(), { ...(await resolveConfig(DOC)), parser: 'markdown' });
    if (process.env.LAPI_WRITE_DOCS === '1') {
      writeFileSync(DOC, rendered);
    }
    expect(readFileSync(DOC, 'utf8')).toBe(rendered);
  });

  it('lists each route and method once, with a cell for every credential', () => {
    const keys = AUTH_MATRIX.map((r) => `${r.method} ${r.route}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const row of AUTH_MATRIX) {
      expect(Object.keys(row.expect).sort()).toEqual([...CREDENTIALS].sort());
    }
  });
});
