// verify.html in Chromium (check.mjs, part 4): copies of one client's portal, each good
// or tampered in one way, checked hosted (node's http module on 127.0.0.1) and offline
// (file://, the folder picker driven by setInputFiles). Each case names the outcome
// tallyseal verify gives: "verified", or the number of the first failing check; with
// TALLYSEAL set to the binary, `tallyseal verify` is run on each copy and must agree.
// VERIFY_DEBUG=1 prints every outcome.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Rewrites the SHA256SUMS line of each of `paths` in `bundle` to the file's hash now. */
function relist(bundle, paths) {
  const sums = join(bundle, 'SHA256SUMS');
  const lines = readFileSync(sums, 'utf8').split('\n').map((line) => {
    const path = line.slice(66);
    return paths.includes(path) ? `${sha256(readFileSync(join(bundle, path)))}  ${path}` : line;
  });
  writeFileSync(sums, lines.join('\n'));
}

/** Signs `bundle`'s SHA256SUMS with `key` (a node KeyObject), as tallyseal does. */
function resign(bundle, key) {
  writeFileSync(join(bundle, 'SHA256SUMS.sig'), sign(null, readFileSync(join(bundle, 'SHA256SUMS')), key));
}

/** Flips the lowest bit of the byte at `at` (negative: from the end) of a file. */
function flip(path, at) {
  const bytes = readFileSync(path);
  const index = at < 0 ? bytes.length + at : at;
  bytes[index] ^= 1;
  writeFileSync(path, bytes);
}

/**
 * The cases: a name, the period checked, how the copy is changed, and what both modes
 * must say (`hosted` may differ: a web page cannot see files that are not listed).
 */
function cases(portal, periods, demoKey) {
  const [latest, previous] = periods;
  const good = periods.map((period) => ({ name: `good-${period}`, period, expect: 'verified' }));
  return [
    ...good,
    {
      name: 'tampered-file', period: latest, expect: 2, because: 'index.html does not match its hash',
      change: (dir) => flip(join(dir, latest, 'index.html'), 200),
    },
    {
      name: 'tampered-signature', period: latest, expect: 1, because: 'does not verify with the key(s) this page trusts',
      change: (dir) => flip(join(dir, latest, 'SHA256SUMS.sig'), 10),
    },
    {
      // Another key signs a consistent bundle naming it, and its public key is put beside
      // the files: the page still trusts only the key written into it.
      name: 'wrong-key', period: latest, expect: 1, because: 'does not verify with the key(s) this page trusts',
      change: (dir) => {
        const { publicKey, privateKey } = generateKeyPairSync('ed25519');
        const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
        const keyId = sha256(raw);
        const bundle = join(dir, latest);
        const statement = JSON.parse(readFileSync(join(bundle, 'statement.json'), 'utf8'));
        statement.key_id = keyId;
        writeFileSync(join(bundle, 'statement.json'), `${JSON.stringify(statement, null, 2)}\n`);
        relist(bundle, ['statement.json']);
        resign(bundle, privateKey);
        const pem = publicKey.export({ format: 'pem', type: 'spki' });
        writeFileSync(join(dir, 'keys', `${keyId}.pub.pem`), pem);
        writeFileSync(join(dir, 'agency.pub.pem'), pem);
      },
    },
    {
      // The latest bundle, signed as it is, put in the previous period's folder.
      name: 'elsewhere', period: previous, expect: 3, because: `but the bundle sits in`,
      change: (dir) => {
        rmSync(join(dir, previous), { recursive: true });
        cpSync(join(portal, latest), join(dir, previous), { recursive: true });
      },
    },
    {
      // One byte of a row changed in a slice, listed and signed again with the agency's
      // own key: only the Merkle proof can tell.
      name: 'tampered-row', period: latest, expect: 4, because: 'do not recompute the root',
      change: (dir) => {
        const bundle = join(dir, latest);
        const slice = readdirSync(join(bundle, 'data')).find((n) => n.endsWith('.csv'));
        flip(join(bundle, 'data', slice), -3);
        relist(bundle, [`data/${slice}`]);
        resign(bundle, createPrivateKey(readFileSync(demoKey)));
      },
    },
    {
      name: 'unlisted-file', period: latest, expect: 2, hosted: 'verified', because: 'is in the bundle but not listed',
      change: (dir) => writeFileSync(join(dir, latest, 'extra.txt'), 'not signed\n'),
    },
  ];
}

/** Serves `root` on 127.0.0.1 (GET only, files only, nothing outside it). */
async function serve(root) {
  const types = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.json': 'application/json' };
  const server = createServer((request, response) => {
    const path = normalize(join(root, decodeURIComponent(new URL(request.url, 'http://x').pathname)));
    let body = null;
    try {
      if (request.method === 'GET' && path.startsWith(root + sep)) body = readFileSync(path);
    } catch {
      body = null;
    }
    if (body === null) {
      response.writeHead(404).end();
      return;
    }
    const type = Object.entries(types).find(([ext]) => path.endsWith(ext))?.[1] ?? 'application/octet-stream';
    response.writeHead(200, { 'content-type': type }).end(body);
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return server;
}

/** What the page said: "verified", the failing check's number, or what else it shows. */
async function outcome(page) {
  await page.waitForFunction(() => ['verified', 'failed'].includes(document.getElementById('verdict')?.dataset.state), null, { timeout: 60_000 });
  return page.evaluate(() => {
    const verdict = document.getElementById('verdict');
    const failed = document.querySelector('#checks [data-status="fail"]');
    return {
      said: verdict.dataset.state === 'verified' ? 'verified' : Number(failed?.dataset.check ?? 0),
      text: verdict.textContent,
      passed: document.querySelectorAll('#checks [data-status="pass"]').length,
    };
  });
}

/** Runs every case in both modes; returns how many runs were made. */
export async function verifyPageChecks({ browser, site, client, demoKey, axeSource, fail }) {
  const portal = join(site, 'clients', client);
  const periods = readdirSync(portal).filter((n) => /^\d{4}-\d{2}$/.test(n)).sort().reverse();
  const root = mkdtempSync(join(tmpdir(), 'tallyseal-verify-'));
  const all = cases(portal, periods, demoKey);
  // Each copy keeps the client's folder name: check 3 compares it with the statement.
  const copy = (c) => join(root, c.name, client);
  for (const c of all) {
    cpSync(portal, copy(c), { recursive: true });
    c.change?.(copy(c));
  }
  const keys = readdirSync(join(portal, 'keys')).flatMap((k) => ['--key', join(portal, 'keys', k)]);
  for (const c of process.env.TALLYSEAL ? all : []) {
    const run = spawnSync(process.env.TALLYSEAL, ['verify', join(copy(c), c.period), ...keys, '--json'], { encoding: 'utf8' });
    const report = JSON.parse(run.stdout || '{"checks": []}');
    const failed = report.checks.find((k) => k.status === 'fail');
    const said = report.verified ? 'verified' : failed?.check;
    if (process.env.VERIFY_DEBUG) console.log(`tallyseal verify ${c.name}: ${said}`);
    if (said !== c.expect) fail(`tallyseal verify ${c.name}`, `expected ${c.expect}, got ${said}: ${run.stdout}${run.stderr}`);
  }
  const server = await serve(root);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith(`${origin}/`)) return route.continue();
    fail('verify.html', `a page asked for ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  let current = '';
  page.on('console', (m) => { if (m.type() === 'error') fail(current, `console error: ${m.text()}`); });
  page.on('pageerror', (e) => fail(current, `page error: ${e.message}`));
  let runs = 0;
  for (const mode of ['hosted', 'offline']) {
    for (const c of all) {
      current = `verify.html ${mode} ${c.name}`;
      if (mode === 'hosted') {
        await page.goto(`${origin}/${c.name}/${client}/verify.html#period-${c.period}`);
        if (await page.inputValue('#period') !== c.period) fail(current, 'the link did not select the period');
        await page.click('#check-hosted');
      } else {
        await page.goto(pathToFileURL(join(copy(c), 'verify.html')).href);
        if (await page.isVisible('#hosted')) fail(current, 'offers to fetch from file://');
        await page.setInputFiles('#folder', join(copy(c), c.period));
      }
      const expected = mode === 'hosted' && c.hosted ? c.hosted : c.expect;
      const got = await outcome(page);
      runs += 1;
      if (process.env.VERIFY_DEBUG) console.log(current, JSON.stringify(got));
      if (got.said !== expected) {
        fail(current, `expected ${expected === 'verified' ? 'verified' : `check ${expected} to fail`}, got ${JSON.stringify(got)}`);
      } else if (expected === 'verified' && !/^Verified: /.test(got.text)) {
        fail(current, `says ${got.text}`);
      } else if (expected !== 'verified' && !(got.text.includes(`Check ${expected} (`) && got.text.includes(c.because))) {
        fail(current, `does not name check ${expected} and "${c.because}": ${got.text}`);
      } else if (expected !== 'verified' && got.passed !== expected - 1) {
        fail(current, `${got.passed} checks passed before check ${expected} failed`);
      }
      if (mode === 'hosted' && ['tampered-file', `good-${periods[0]}`].includes(c.name)) {
        for (const width of [1280, 390]) {
          await page.setViewportSize({ width, height: 900 });
          await page.addScriptTag({ content: axeSource });
          const result = await page.evaluate(() => window.axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
          }));
          for (const v of result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))) {
            fail(`${current} @${width}px`, `axe ${v.impact} ${v.id}: ${v.help}`);
          }
        }
        await page.setViewportSize({ width: 1280, height: 900 });
      }
    }
  }
  // A folder that holds periods rather than one period's files is refused, with advice.
  current = 'verify.html offline, the portal folder picked';
  await page.goto(pathToFileURL(join(root, 'good-' + periods[0], client, 'verify.html')).href);
  await page.setInputFiles('#folder', join(root, 'good-' + periods[0], client));
  await page.waitForFunction(() => document.getElementById('verdict').dataset.state === 'failed', null, { timeout: 60_000 }).catch(() => {});
  const refused = await page.textContent('#verdict');
  if (!refused.includes(`Not checked: ${client} holds periods`)) fail(current, `says ${refused}`);
  await context.close();
  server.close();
  rmSync(root, { recursive: true });
  return runs;
}
