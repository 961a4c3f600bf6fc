// tallyseal verify.js: checks 1 to 4 of docs/verify.md on one bundle of this portal, in
// the browser, as `tallyseal verify` does them (src/verify.rs), with WebCrypto alone:
// SHA-256 by crypto.subtle.digest, Ed25519 by crypto.subtle.verify, the RFC 9162
// multiproof recomputed here. Served over http(s), it fetches a period's files by
// relative URL; opened from file://, it reads the folder the user picks. It trusts the
// keys written into verify.html (data-key: raw 32-byte Ed25519 public keys, in hex),
// never a key found beside the files.
'use strict';

const SUMS = 'SHA256SUMS';
const SIGNATURE = 'SHA256SUMS.sig';
const STATEMENT = 'statement.json';
const STATEMENT_TYPE = 'tallyseal.statement.v1';
const NAMES = ['signature', 'files', 'statement', 'proofs'];
// The first failure in plain words, by check.
const PLAIN = [
  'The signature does not match a key this page trusts: the files were changed after they were signed, or someone else signed them.',
  'A file is not exactly as signed: it was changed, removed or added after signing.',
  'The signed statement does not say that this folder is yours for this period.',
  'Your rows do not prove to be rows of the agency’s raw exports.',
];

/** A check that does not hold; the message says why. */
class Failed extends Error {}
const need = (holds, reason) => {
  if (!holds) throw new Failed(reason);
};

// ---------------------------------------------------------------- bytes and hashes

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encode = (text) => new TextEncoder().encode(text);
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
const isHex64 = (value) => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
const isCount = (value) => Number.isSafeInteger(value) && value >= 0;
const isText = (value) => typeof value === 'string';
const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const groups = (keyId) => keyId.match(/.{1,4}/g).join(' ');

/** Bytewise order of two byte arrays: negative, zero or positive. */
function compare(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

async function sha256(...parts) {
  const joined = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
}
const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

function json(bytes, name) {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch (error) {
    throw new Failed(`${name} does not parse: ${error.message}`);
  }
}

// ---------------------------------------------------------------- the bundle's files

/** The bundle of `period` on the site serving this page: fetched, never listed. */
function hostedBundle(period) {
  const base = new URL(`${encodeURIComponent(period)}/`, location.href);
  return {
    folder: period,
    listing: null,
    async read(path) {
      const url = new URL(path.split('/').map(encodeURIComponent).join('/'), base);
      const response = await fetch(url, { cache: 'no-store' });
      if (response.status === 404) return null;
      need(response.ok, `${path}: the site answered HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

/** The bundle in a folder the user picked: every file in it, by path in the folder. */
function pickedBundle(folder, files) {
  return {
    folder,
    listing: [...files.keys()].sort((a, b) => compare(encode(a), encode(b))),
    async read(path) {
      const file = files.get(path);
      return file ? new Uint8Array(await file.arrayBuffer()) : null;
    },
  };
}

// ---------------------------------------------------------------- check 1: signature

async function signature(bundle, keys) {
  const sums = await bundle.read(SUMS);
  need(sums, `${SUMS} is missing`);
  const signed = await bundle.read(SIGNATURE);
  need(signed, `${SIGNATURE} is missing: the bundle is an unsigned preview, or its signature was removed`);
  need(signed.length === 64, `${SIGNATURE} is ${signed.length} bytes; a raw Ed25519 signature is 64`);
  for (const key of keys) {
    if (await crypto.subtle.verify('Ed25519', key.key, signed, sums)) {
      return { signer: key, sums, detail: `${SUMS} is signed by key ${groups(key.keyId)}` };
    }
  }
  const ids = keys.map((k) => groups(k.keyId)).join(', ') || 'none';
  throw new Failed(`the signature does not verify with the key(s) this page trusts (${ids}): ${SUMS} or its signature was changed, or another key signed it`);
}

// ---------------------------------------------------------------- check 2: files

/** GNU escapes of a path: `\\`, `\n`, `\r`; null for any other. */
function unescapeName(path) {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    if (path[i] !== '\\') {
      out += path[i];
      continue;
    }
    const escaped = { '\\': '\\', n: '\n', r: '\r' }[path[++i]];
    if (escaped === undefined) return null;
    out += escaped;
  }
  return out;
}

/** SHA256SUMS, read as strictly as tallyseal reads it (src/seal/manifest.rs). */
function manifest(bytes) {
  let text;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new Failed(`${SUMS} is not UTF-8 text`);
  }
  need(text === '' || text.endsWith('\n'), `${SUMS} does not end with a line feed`);
  const entries = [];
  if (text === '') return entries;
  text.slice(0, -1).split('\n').forEach((raw, index) => {
    const bad = (reason) => new Failed(`${SUMS} line ${index + 1}: ${reason}`);
    if (raw.includes('\r')) throw bad('a carriage return: lines end with LF alone');
    const escaped = raw.startsWith('\\');
    const rest = escaped ? raw.slice(1) : raw;
    const gap = rest.indexOf('  ');
    if (gap < 0) throw bad('expected `<64 hex digits>  <path>`');
    const sha256 = rest.slice(0, gap);
    if (!isHex64(sha256)) throw bad('expected 64 lowercase hex digits');
    const path = escaped ? unescapeName(rest.slice(gap + 2)) : rest.slice(gap + 2);
    if (path === null) throw bad('a bad escape in the path');
    if (path === '' || path.startsWith('/') || path.split('/').some((c) => ['', '.', '..'].includes(c))) {
      throw bad('the path is not a plain relative path inside the bundle');
    }
    const key = encode(path);
    if (entries.length && compare(entries[entries.length - 1].key, key) >= 0) {
      throw bad('paths are not sorted bytewise, or one is listed twice');
    }
    entries.push({ path, key, sha256 });
  });
  return entries;
}

/** Every listed file's hash; the files later checks read are kept, by path. */
async function files(bundle, sums, progress) {
  const entries = manifest(sums);
  const held = new Map();
  for (const [done, entry] of entries.entries()) {
    const bytes = await bundle.read(entry.path);
    need(bytes, `${entry.path} is listed in ${SUMS} but missing`);
    need(hex(await sha256(bytes)) === entry.sha256, `${entry.path} does not match its hash in ${SUMS}: it was changed`);
    if (entry.path === STATEMENT || entry.path === 'sources.json' || entry.path.startsWith('data/')) {
      held.set(entry.path, bytes);
    }
    progress(`${done + 1} of ${entries.length} files hashed`);
  }
  const listed = new Set(entries.map((e) => e.path));
  if (bundle.listing === null) {
    const detail = `${entries.length} files listed, each present with its listed hash. Files present but not listed cannot be seen from a web page: pick the folder to look for them`;
    return { held, detail };
  }
  const other = bundle.listing.find((p) => p !== SUMS && p !== SIGNATURE && !listed.has(p));
  need(other === undefined, `${other} is in the bundle but not listed in ${SUMS}`);
  return { held, detail: `${entries.length} files listed, each present with its listed hash; no other file` };
}

// ---------------------------------------------------------------- check 3: statement

const sourceShape = (s) =>
  isObject(s) && ['source', 'file', 'sha256', 'root'].every((k) => isText(s[k])) && isCount(s.size) && isCount(s.leaves);

/** The fields tallyseal requires of statement.json (src/seal/statement.rs). */
function statementShape(s) {
  const problem = (() => {
    if (!isObject(s)) return 'not a JSON object';
    const text = ['type', 'agency', 'client_id', 'period', 'period_first', 'period_last', 'currency', 'generator'];
    const missing = text.find((k) => !isText(s[k]));
    if (missing) return `${missing} is not text`;
    if (!isCount(s.seq)) return 'seq is not a whole number';
    const optional = ['prev', 'key_id', 'invoice_number', 'invoice_total'].find((k) => !(s[k] == null || isText(s[k])));
    if (optional) return `${optional} is neither text nor null`;
    if (!Array.isArray(s.sources) || !s.sources.every(sourceShape)) return 'sources is not a list of exports';
    return null;
  })();
  need(problem === null, `${STATEMENT} does not parse: ${problem}`);
  return s;
}

function statement(held, clientId, period, keyId) {
  if (!held.has(STATEMENT)) {
    need(!held.has('sources.json'), `this is the agency's bundle of a period (sources.json), not one of your periods`);
    throw new Failed(`neither ${STATEMENT} nor sources.json: not a tallyseal bundle`);
  }
  const s = statementShape(json(held.get(STATEMENT), STATEMENT));
  need(s.type === STATEMENT_TYPE, `${STATEMENT} has type "${s.type}", not "${STATEMENT_TYPE}"`);
  need(s.client_id === clientId && s.period === period,
    `${STATEMENT} is for ${s.client_id} ${s.period}, but the bundle sits in ${clientId}/${period}: it belongs elsewhere`);
  need(s.key_id === keyId, `${STATEMENT} names key ${s.key_id ?? 'null'}, but the signature is by key ${keyId}`);
  return { statement: s, detail: `${STATEMENT}: ${s.client_id}, period ${s.period}, key ${groups(keyId)}` };
}

// ---------------------------------------------------------------- check 4: proofs

const PROOF_FIELDS = ['source', 'file', 'size', 'sha256', 'leaves', 'root', 'included', 'subtrees'];

/** data/<export>.proof.json: exactly its fields, as tallyseal reads it (src/seal/proof.rs). */
function proofShape(p, name) {
  const fits = isObject(p) &&
    Object.keys(p).every((k) => PROOF_FIELDS.includes(k)) &&
    sourceShape(p) &&
    Array.isArray(p.included) &&
    p.included.every((e) => Array.isArray(e) && e.length === 2 && e.every(isCount)) &&
    Array.isArray(p.subtrees) &&
    p.subtrees.every((e) => Array.isArray(e) && e.length === 3 && isCount(e[0]) && isCount(e[1]) && isText(e[2]));
  need(fits, `${name} does not parse: expected exactly ${PROOF_FIELDS.join(', ')}`);
  return p;
}

/** The largest power of two smaller than n (n ≥ 2): where RFC 9162 splits. */
function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The root of a tree of `count` leaves from the included leaves' hashes (`[index,
 * hash]`, ascending) and the multiproof (`{start, end, hash}`), by the recursion of
 * docs/verify.md; rejects a subtree missing, misplaced or extra (src/seal/merkle.rs).
 */
async function rootFromProof(count, included, subtrees) {
  included.forEach(([index], i) => {
    need(index < count && (i === 0 || included[i - 1][0] < index),
      `included leaf ${index} is out of order or beyond the leaf count`);
  });
  const extra = (s) => new Failed(`the proof has a subtree [${s.start}, ${s.end}) that is not a maximal subtree without an included leaf`);
  if (count === 0) {
    if (subtrees.length) throw extra(subtrees[0]);
    return sha256(new Uint8Array(0));
  }
  // The position of the first included leaf at or after `at`.
  const after = (at) => {
    let low = 0;
    let high = included.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (included[mid][0] < at) low = mid + 1;
      else high = mid;
    }
    return low;
  };
  let next = 0;
  const range = async (start, end) => {
    const first = after(start);
    if (first === included.length || included[first][0] >= end) {
      const s = subtrees[next];
      if (s && s.start === start && s.end === end) {
        next += 1;
        return s.hash;
      }
      if (s && s.start < end) throw extra(s);
      throw new Failed(`the proof lacks the subtree [${start}, ${end})`);
    }
    if (end - start === 1) return included[first][1];
    const k = split(end - start);
    const left = await range(start, start + k);
    const right = await range(start + k, end);
    return sha256(NODE, left, right);
  };
  const root = await range(0, count);
  if (next < subtrees.length) throw extra(subtrees[next]);
  return root;
}

async function proofs(held, s) {
  const expected = new Set();
  let shown = 0;
  for (const [position, source] of s.sources.entries()) {
    need(position === 0 || compare(encode(s.sources[position - 1].file), encode(source.file)) < 0,
      `${STATEMENT}: sources are not sorted by file, or one is named twice`);
    const name = source.file.split('/').pop();
    const slicePath = `data/${name}`;
    const proofPath = `${slicePath}.proof.json`;
    const slice = held.get(slicePath);
    need(slice, `${slicePath} is missing`);
    need(held.has(proofPath), `${proofPath} is missing`);
    const proof = proofShape(json(held.get(proofPath), proofPath), proofPath);
    need(['source', 'file', 'size', 'sha256', 'leaves', 'root'].every((k) => proof[k] === source[k]),
      `${proofPath} does not describe ${source.file} as ${STATEMENT} does`);
    const leaves = [];
    let at = 0;
    for (const [index, length] of proof.included) {
      need(at + length <= slice.length, `${slicePath} is shorter than the leaves its proof lists`);
      need(length > 0, `${proofPath}: an included leaf is empty`);
      leaves.push([index, slice.subarray(at, at + length)]);
      at += length;
    }
    need(at === slice.length, `${slicePath} has ${slice.length - at} bytes beyond the leaves its proof lists`);
    const hashed = await Promise.all(leaves.map(async ([index, bytes]) => [index, await sha256(LEAF, bytes)]));
    need(proof.subtrees.every(([, , hash]) => isHex64(hash)),
      `${proofPath}: a subtree is not [start, end, 64 lowercase hex digits]`);
    const subtrees = proof.subtrees.map(([start, end, hash]) => ({ start, end, hash: unhex(hash) }));
    let root;
    try {
      root = await rootFromProof(proof.leaves, hashed, subtrees);
    } catch (error) {
      throw error instanceof Failed ? new Failed(`${proofPath}: ${error.message}`) : error;
    }
    need(hex(root) === source.root,
      `${slicePath} and its proof do not recompute the root of ${source.file}: the slice or the proof was changed`);
    shown += hashed.length;
    expected.add(slicePath).add(proofPath);
  }
  const other = [...held.keys()].find((p) => p.startsWith('data/') && !expected.has(p));
  need(other === undefined, `${other} is neither the slice nor the proof of a source in ${STATEMENT}`);
  if (s.sources.length === 0) return 'no slice: the period holds none of your rows of the raw exports';
  return `${s.sources.length} slice(s), ${shown} leaves, recompute their exports' roots`;
}

// ---------------------------------------------------------------- all four, in order

/**
 * Checks 1 to 4 of the bundle, reporting each as it goes (`report(check, status,
 * detail)`, check 1 to 4, status running, pass or fail); stops at the first failure.
 * Returns the key that signed, or null when a check failed.
 */
async function verify(bundle, clientId, keys, report) {
  let check = 1;
  const step = (next) => {
    check = next;
    report(check, 'running', 'Checking…');
  };
  try {
    step(1);
    const { signer, sums, detail: signedBy } = await signature(bundle, keys);
    report(1, 'pass', signedBy);
    step(2);
    const { held, detail: listed } = await files(bundle, sums, (text) => report(2, 'running', text));
    report(2, 'pass', listed);
    step(3);
    const { statement: s, detail: named } = statement(held, clientId, bundle.folder, signer.keyId);
    report(3, 'pass', named);
    step(4);
    report(4, 'pass', await proofs(held, s));
    return signer;
  } catch (error) {
    const reason = error instanceof Failed ? error.message : `the files could not be read: ${error.message}`;
    report(check, 'fail', reason);
    return null;
  }
}

// ---------------------------------------------------------------- the page

/** The keys written into the page, imported; each id computed from the key itself. */
async function trustedKeys() {
  const keys = [];
  for (const item of document.querySelectorAll('#trusted-keys [data-key]')) {
    const raw = unhex(item.dataset.key);
    const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
    keys.push({ key, keyId: hex(await sha256(raw)) });
  }
  return keys;
}

/** The files a folder picker gave: its name and its files by path inside it. */
function picked(fileList) {
  const files = new Map();
  const folders = new Set();
  for (const file of fileList) {
    const [folder, ...rest] = file.webkitRelativePath.split('/');
    folders.add(folder);
    files.set(rest.join('/'), file);
  }
  return { folder: [...folders][0], files, whole: folders.size === 1 && !files.has('') };
}

function page() {
  const root = document.getElementById('verifier');
  if (!root) return;
  const clientId = root.dataset.client;
  const verdict = document.getElementById('verdict');
  const select = document.getElementById('period');
  const button = document.getElementById('check-hosted');
  const input = document.getElementById('folder');
  const hosted = location.protocol === 'http:' || location.protocol === 'https:';
  root.hidden = false;
  document.getElementById('hosted').hidden = !hosted;
  if (!hosted) document.getElementById('folder-label').textContent = 'Pick a period’s folder';
  // verify.html#period-2026-10, as each period's summary links it, selects that period.
  const choose = () => {
    const wanted = location.hash.startsWith('#period-') ? location.hash.slice('#period-'.length) : null;
    if ([...select.options].some((o) => o.value === wanted)) select.value = wanted;
  };
  choose();
  addEventListener('hashchange', choose);

  // The verdict: a headline in bold, then what follows from it.
  const say = (state, headline, more = '') => {
    verdict.dataset.state = state;
    verdict.className = `verdict ${state}`;
    const strong = document.createElement('strong');
    strong.textContent = headline;
    verdict.replaceChildren(strong, more && ` ${more}`);
  };
  if (!globalThis.crypto?.subtle) {
    say('failed', 'This browser cannot check signatures here.', 'The page must be served over https or opened from a file. Check the period with tallyseal verify or openssl instead.');
    return;
  }
  const keys = trustedKeys().catch(() => null);
  const labels = { running: 'Checking', pass: 'Pass', fail: 'Fail', idle: 'Not run' };
  const show = (check, status, detail) => {
    const item = document.querySelector(`#checks [data-check="${check}"]`);
    item.dataset.status = status;
    const badge = item.querySelector('.status');
    badge.className = `status ${status}`;
    badge.textContent = labels[status];
    item.querySelector('.detail').textContent = detail;
  };
  const initial = [...document.querySelectorAll('#checks .detail')].map((d) => d.textContent);
  const reset = () => initial.forEach((text, i) => show(i + 1, 'idle', text));

  let busy = false;
  const run = async (bundle, what) => {
    if (busy) return;
    busy = true;
    button.disabled = true;
    input.disabled = true;
    reset();
    say('running', `Checking ${what}…`);
    const trusted = await keys;
    if (trusted === null) {
      say('failed', 'This browser cannot check Ed25519 signatures.', 'It needs Chrome or Edge 137, Firefox 129, Safari 17 or later. Check the period with tallyseal verify or openssl instead.');
    } else {
      // The live region announces each check once as it starts, not each file hashed.
      let announced = 0;
      const report = (check, status, detail) => {
        show(check, status, detail);
        if (status === 'running' && check !== announced) {
          announced = check;
          say('running', `Checking ${what}: check ${check} of 4, ${NAMES[check - 1]}…`);
        }
        if (status === 'fail') {
          say('failed', `Not verified: ${what}.`, `${PLAIN[check - 1]} Check ${check} (${NAMES[check - 1]}) failed: ${detail}.`);
        }
      };
      const signer = await verify(bundle, clientId, trusted, report);
      if (signer) {
        say('verified', `Verified: ${what} is exactly what was signed.`, `Signed with the key ${groups(signer.keyId)}: compare this fingerprint with the one you were given.`);
      }
    }
    busy = false;
    button.disabled = false;
    input.disabled = false;
  };

  button.addEventListener('click', () => {
    const label = select.options[select.selectedIndex]?.text ?? select.value;
    run(hostedBundle(select.value), `${label} on this site`);
  });
  input.addEventListener('change', () => {
    if (!input.files.length) return;
    const { folder, files, whole } = picked(input.files);
    const inside = [...files.keys()].filter((p) => p.endsWith(`/${SUMS}`)).map((p) => p.split('/')[0]);
    if (!whole || !files.has(SUMS)) reset();
    if (!whole) {
      say('failed', 'Not checked: your browser gave files, not a folder.', 'Pick the period’s folder itself.');
    } else if (!files.has(SUMS) && inside.length) {
      say('failed', `Not checked: ${folder} holds periods (${inside.join(', ')}), not one period’s files.`, 'Pick one period’s folder.');
    } else {
      run(pickedBundle(folder, files), `the folder ${folder}`);
    }
    input.value = '';
  });
}

page();
