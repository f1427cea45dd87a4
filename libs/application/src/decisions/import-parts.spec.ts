import { ValidationError } from '@lapi/domain';
import { importDecisions } from './import-decisions';
import { ImportParts } from './import-parts';

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ value: `10.0.${from + i}.1` }));

describe('ImportParts', () => {
  it('keeps checked parts until the commit takes them all, as one import of the whole file would', async () => {
    const parts = new ImportParts();
    expect(await parts.add('a', 0, rows(0, 3), { duration: '1h' })).toBe(3);
    expect(await parts.add('a', 3, rows(3, 2), { duration: '1h' })).toBe(5);
    expect(parts.take('a')).toEqual(importDecisions(rows(0, 5), { duration: '1h' }).decisions);
    expect(() => parts.take('a')).toThrow(ValidationError); // taken once
  });

  it('refuses the whole import when a line of any part is unusable, naming lines of the whole file', async () => {
    const parts = new ImportParts();
    await parts.add('b', 0, [{ value: '10.0.0.1' }, { value: '10.0.0.999' }], {});
    await parts.add('b', 2, [{ value: '10.0.0.2' }, { value: '' }], {});
    expect(() => parts.take('b')).toThrow("nothing imported: line 2: invalid IP '10.0.0.999'; line 4: no value");
  });

  it('refuses a part out of order, and one of an import it does not know', async () => {
    const parts = new ImportParts();
    await expect(parts.add('c', 5, rows(0, 1), {})).rejects.toThrow('unknown or abandoned');
    await parts.add('c', 0, rows(0, 2), {});
    await expect(parts.add('c', 3, rows(3, 1), {})).rejects.toThrow('a part starts at row 4, expected 3');
  });

  it('forgets an import whose client stopped sending', async () => {
    const parts = new ImportParts(20);
    await parts.add('d', 0, rows(0, 2), {});
    await new Promise((r) => setTimeout(r, 50));
    expect(() => parts.take('d')).toThrow('unknown or abandoned');
  });
});
