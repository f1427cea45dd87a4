import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { patchPostgres, MARKER } = require('../../scripts/patch-postgres.js') as {
  patchPostgres(root: string): string[];
  MARKER: string;
};

const INSTALLED = resolve(__dirname, '..', '..', 'node_modules', 'postgres');
const FILES = ['src', 'cjs/src', 'cf/src'].map((v) => `${v}/connection.js`);

/** A scratch copy of the installed (patched) driver. */
function installedCopy(): string {
  const root = join(mkdtempSync(join(tmpdir(), 'lapi-pgpatch-')), 'postgres');
  cpSync(INSTALLED, root, { recursive: true });
  return root;
}

describe('scripts/patch-postgres.js', () => {
  let root: string;
  beforeEach(() => {
    root = installedCopy();
  });
  afterEach(() => rmSync(resolve(root, '..'), { recursive: true, force: true }));

  it('is applied to the installed driver (npm ci ran it)', () => {
    for (const file of FILES) {
      expect(readFileSync(join(INSTALLED, file), 'utf8')).toContain(MARKER);
    }
  });

  it('is idempotent: a second run changes nothing', () => {
    expect(patchPostgres(root)).toEqual([]);
    const before = FILES.map((f) => readFileSync(join(root, f), 'utf8'));
    expect(patchPostgres(root)).toEqual([]);
    expect(FILES.map((f) => readFileSync(join(root, f), 'utf8'))).toEqual(before);
  });

  it('fails loudly when the code it patches changed shape', () => {
    const file = join(root, 'cjs/src/connection.js');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.split(MARKER).join('').replace('function nextWrite(fn) {', 'function nextWrite(fn, x) {'));
    expect(() => patchPostgres(root)).toThrow(/cjs\/src\/connection\.js: expected 1 occurrence/);
  });

  it('refuses another driver version, so that an upgrade gets the patch reviewed', () => {
    const pkg = join(root, 'package.json');
    writeFileSync(pkg, readFileSync(pkg, 'utf8').replace('"version": "3.4.9"', '"version": "3.4.10"'));
    expect(() => patchPostgres(root)).toThrow(/postgres 3\.4\.10 is installed/);
  });
});
