// What the dashboard's browser tests do on a page: log in through the login page, run axe-core,
// save a screenshot into the run directory (test/dashboard-*-browser tests share them).
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { testRunDir } from './run-logs.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Where the screenshots of a test run go. */
export function screenshotDir(): string {
  const dir = join(testRunDir(), 'dashboard-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Fills the login page the browser was sent to (with next=) and submits it. */
export async function loginOnPage(p: Page, user: string, password: string): Promise<void> {
  await p.waitForURL(/\/login\?next=/);
  await p.fill('#username', user);
  await p.fill('#password', password);
  await p.click('#submit');
}

/** axe-core in the page (evaluated over CDP, which the page's CSP does not govern): serious and critical violations. */
export async function axeViolations(p: Page): Promise<string[]> {
  await p.evaluate(axeSource);
  const result = await p.evaluate(async () => {
    const run = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run;
    return run(document, { resultTypes: ['violations'] });
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export async function screenshot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(screenshotDir(), `${name}.png`), fullPage: false });
}
