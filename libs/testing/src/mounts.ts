import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small tmpfs mounted on a new temporary directory (needs root, and CAP_SYS_ADMIN in a container). */
export function mountTmpfs(sizeMb: number, options: { uid?: number } = {}): string {
  const mountPoint = mkdtempSync(join(tmpdir(), 'lapi-tmpfs-'));
  const uid = options.uid === undefined ? '' : `,uid=${options.uid}`;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700${uid}`, 'tmpfs', mountPoint], {
      stdio: 'pipe',
    });
  } catch (error) {
    rmSync(mountPoint, { recursive: true, force: true });
    throw error;
  }
  return mountPoint;
}

export function unmount(mountPoint: string): void {
  execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
}

let mountable: boolean | undefined;

/** Whether this process may mount file systems (tests that need a full disk or a read-only mount skip otherwise). */
export function canMount(): boolean {
  if (mountable === undefined) {
    try {
      unmount(mountTmpfs(1));
      mountable = true;
    } catch {
      mountable = false;
    }
  }
  return mountable;
}
