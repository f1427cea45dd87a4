/** The routes Fastify registered, to answer unknown paths like gin does: 404, 405, or a trailing-slash redirect. */
export class RouteTable {
  private readonly routes: { method: string; url: string; pattern: RegExp }[] = [];

  add(method: string, url: string): void {
    const pattern = new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`);
    this.routes.push({ method: method.toUpperCase(), url, pattern });
  }

  /** Every registered `METHOD url`, e.g. for tests that must cover each route. */
  list(): { method: string; url: string }[] {
    return this.routes.map(({ method, url }) => ({ method, url }));
  }

  /** How to answer `method path` when no route took it. */
  fallback(method: string, path: string): { status: 404 | 405 } | { status: 301 | 307; location: string } {
    const m = method.toUpperCase();
    if (path.length > 1 && path.endsWith('/')) {
      const bare = path.replace(/\/+$/, '');
      if (this.routes.some((r) => r.method === m && r.pattern.test(bare))) {
        return { status: m === 'GET' ? 301 : 307, location: bare };
      }
    }
    return this.routes.some((r) => r.pattern.test(path)) ? { status: 405 } : { status: 404 };
  }
}
