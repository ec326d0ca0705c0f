// The web dashboard under / on the HTTPS listener: the page for each of its paths (the browser
// app routes itself) and its hashed assets under /assets/. Built by `npm run build` into
// web/dashboard/; the files come through the one lookup of web/ (login/webauthn/dashboard-files.ts:
// beside the tree, or the single binary's assets). The page itself holds no data: every answer
// it shows comes from /api/v1 through the gate, so the page and assets are public.
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../shared/errors/index.js';
import { dashboardFiles } from '../login/index.js';

/** Strict: scripts and styles from this origin only, no inline code, no framing. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The app's paths (its router knows them); alerts, quotas and audit join as their pages do. */
export const DASHBOARD_PATHS = ['/', '/jobs', '/jobs/*', '/nodes', '/nodes/*', '/alerts', '/quotas', '/audit'];

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  map: 'application/json',
};

export function registerDashboard(app: FastifyInstance): void {
  const files = dashboardFiles();
  const read = (file: string): Buffer => {
    if (!files) throw new NotFoundError('the dashboard files (web/) are not installed beside this hub');
    try {
      return files(`dashboard/${file}`);
    } catch {
      throw new NotFoundError(file === 'index.html' ? 'the dashboard is not built: run npm run build' : `no dashboard file ${file}`);
    }
  };

  for (const url of DASHBOARD_PATHS) {
    app.get(url, { config: { public: true }, schema: { summary: 'The web dashboard (the page; its data comes from /api/v1)' } }, async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', DASHBOARD_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'same-origin')
        .send(read('index.html')),
    );
  }

  app.get('/assets/:file', { config: { public: true }, schema: { summary: "The dashboard's scripts and styles", params: { type: 'object', properties: { file: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*\\.[a-z0-9]+$', maxLength: 128 } } } } }, async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = TYPES[file.slice(file.lastIndexOf('.') + 1)];
    if (!type) throw new NotFoundError(`no dashboard file ${file}`);
    // Names carry their content hash: a new build has new names, so they never change.
    return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').send(read(`assets/${file}`));
  });
}
