// The package's "./nodefs" export, which the project's node10 module resolution cannot see (Node resolves it at run time).
declare module '@electric-sql/pglite/nodefs' {
  export { NodeFS } from '@electric-sql/pglite/dist/fs/nodefs';
}
