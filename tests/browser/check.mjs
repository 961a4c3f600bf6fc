// The portals in a real browser (Debian's Chromium, headless, offline):
//   node tests/browser/check.mjs <site>
// 1. every page loads from file:// with no console error, no page error and no failed
//    or outgoing request;
// 2. axe-core reports no serious or critical violation on the main pages;
// 3. every invoice prints on one A4 and one Letter page with nothing cut off;
// 4. a portal's verify.html says "verified" for good bundles and names the failing check
//    of tampered copies, hosted (a static server on 127.0.0.1) and from file:// (the
//    folder picker). <demo key> re-signs tampered copies that only checks 3 and 4 catch
//    (default: the sample project's demo key).
// Prints one line per failure and exits 1 if there is any.
import { chromium } from 'playwright-core';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { verifyPageChecks } from './verify.mjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const site = resolve(process.argv[2] ?? 'site');
const demoKey = resolve(process.argv[3] ?? join(dirname(fileURLToPath(import.meta.url)), '../../sample-data/keys/demo-agency.pem'));
const failures = [];
const fail = (page, message) => failures.push(`${page}: ${message}`);

function walk(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
const pages = walk(site).filter((p) => p.endsWith('.html')).map((p) => relative(site, p));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
  ],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
await context.route('**/*', (route) => {
  const url = route.request().url();
  if (url.startsWith('file:')) return route.continue();
  failures.push(`network: a page asked for ${url}`);
  return route.abort();
});

// 1. Every page, no console error, no failed request.
const page = await context.newPage();
// `current` is the page being loaded; null while axe-core runs (it fetches the page's
// stylesheets itself, which file:// refuses: its errors are not the page's).
let current = null;
const watch = (message) => { if (current !== null) fail(current, message); };
page.on('console', (m) => { if (m.type() === 'error') watch(`console error: ${m.text()}`); });
page.on('pageerror', (e) => watch(`page error: ${e.message}`));
page.on('requestfailed', (r) => watch(`request failed: ${r.url()} ${r.failure()?.errorText}`));
page.on('response', (r) => { if (r.status() >= 400) watch(`HTTP ${r.status()} for ${r.url()}`); });
for (const path of pages) {
  current = path;
  const response = await page.goto(pathToFileURL(join(site, path)).href, { waitUntil: 'load' });
  if (!response) fail(path, 'did not load');
  const title = await page.title();
  if (!title) fail(path, 'has no title');
}

// 2. axe-core on the main pages of one client and the agency index.
const client = readdirSync(join(site, 'clients')).sort()[0];
const period = readdirSync(join(site, 'clients', client)).filter((n) => /^\d{4}-\d{2}$/.test(n)).sort().pop();
const bundle = join('clients', client, period);
const evidence = readdirSync(join(site, bundle, 'lines')).filter((n) => n.endsWith('.html')).sort()[0];
const audited = [
  join('clients', client, 'index.html'),
  join('clients', client, 'verify.html'),
  join(bundle, 'index.html'),
  join(bundle, 'invoice.html'),
  join(bundle, 'account.html'),
  join(bundle, 'checklist.html'),
  join(bundle, 'lines', evidence),
  join('agency', 'index.html'),
];
for (const width of [1280, 390]) {
  await page.setViewportSize({ width, height: 900 });
  for (const path of audited) {
    current = path;
    await page.goto(pathToFileURL(join(site, path)).href, { waitUntil: 'load' });
    current = null;
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(() => window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }));
    for (const v of result.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        const where = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ');
        fail(`${path} @${width}px`, `axe ${v.impact} ${v.id}: ${v.help} (${where})`);
      }
    }
    if (result.passes.length === 0) fail(path, 'axe ran no check');
  }
}

// 3. Every invoice prints on one page, A4 and Letter, nothing wider than the paper.
const invoices = pages.filter((p) => p.endsWith('invoice.html'));
const papers = { A4: { width: '210mm', mm: 210 }, Letter: { width: '8.5in', mm: 215.9 } };
for (const path of invoices) {
  current = path;
  await page.goto(pathToFileURL(join(site, path)).href);
  await page.emulateMedia({ media: 'print' });
  for (const [format, paper] of Object.entries(papers)) {
    // The printable width at 96 px per inch, less the 15 mm margins of @page.
    const printable = Math.floor(((paper.mm - 30) / 25.4) * 96);
    await page.setViewportSize({ width: printable, height: 1000 });
    const overflow = await page.evaluate(() => {
      const limit = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('main *')]
        .filter((e) => e.getBoundingClientRect().right > limit + 0.5)
        .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
      return { scroll: document.documentElement.scrollWidth, limit, wide: wide.slice(0, 3) };
    });
    if (overflow.scroll > overflow.limit || overflow.wide.length) {
      fail(path, `cut off when printed on ${format}: ${overflow.scroll}px > ${overflow.limit}px ${overflow.wide.join(', ')}`);
    }
    const pdf = await page.pdf({ format, printBackground: false, preferCSSPageSize: true });
    const pageCount = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    if (pdf.subarray(0, 5).toString() !== '%PDF-') fail(path, `no PDF on ${format}`);
    if (pageCount !== 1) fail(path, `prints on ${pageCount} ${format} pages, not one`);
  }
  await page.emulateMedia({ media: 'screen' });
}

// 4. verify.html, hosted and offline, on good and tampered bundles.
const verified = await verifyPageChecks({ browser, site, client, demoKey, axeSource, fail });

await browser.close();
for (const f of failures) console.log(f);
console.log(`${pages.length} pages loaded, ${audited.length} audited with axe-core at 1280 and 390 px, ${invoices.length} invoices printed, verify.html run on ${verified} bundles; ${failures.length} problems`);
process.exit(failures.length ? 1 : 0);
