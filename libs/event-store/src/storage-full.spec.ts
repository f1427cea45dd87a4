import { writeFileSync } from 'node:fs';
import { isStorageFull } from './storage-full';

/** The error a real write to a full device throws (/dev/full always answers ENOSPC). */
const enospc = (): Error => {
  try {
    writeFileSync('/dev/full', 'x');
  } catch (error) {
    return error as Error;
  }
  throw new Error('/dev/full accepted a write');
};

describe('isStorageFull', () => {
  it("knows PostgreSQL's disk_full, a full device, and errors caused by one", () => {
    expect(isStorageFull(Object.assign(new Error('could not extend file'), { code: '53100' }))).toBe(true);
    expect(isStorageFull(enospc())).toBe(true);
    expect(isStorageFull(new Error('append failed', { cause: enospc() }))).toBe(true);
    expect(isStorageFull(Object.assign(new Error('quota'), { code: 'EDQUOT' }))).toBe(true);
  });

  it('leaves other errors alone', () => {
    expect(isStorageFull(Object.assign(new Error('unique violation'), { code: '23505' }))).toBe(false);
    expect(isStorageFull(Object.assign(new Error('out of memory'), { code: '53200' }))).toBe(false);
    expect(isStorageFull(new Error('plain'))).toBe(false);
    expect(isStorageFull('ENOSPC')).toBe(false);
    expect(isStorageFull(undefined)).toBe(false);
  });
});
