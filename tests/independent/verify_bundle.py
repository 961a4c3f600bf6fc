#!/usr/bin/env python3
"""Independent verifier for tallyseal bundles, written from docs/verify.md alone.

Usage: python3 verify_bundle.py <bundle-dir> --key <pub.pem> [--key ...] [--sources <project>]

Runs checks 1-4 and 6 of "Verify a bundle in five minutes" (check 5, `chain`, is out of
this verifier's scope and is reported as skipped). Prints one line per check; on the first
failure prints "FAILED check N: <reason>" and exits 1. Exit 0 when every check run
holds, 2 on usage errors (bad arguments, unreadable key, missing folder).
Standard library only; Ed25519 is delegated to `openssl pkeyutl` (OpenSSL >= 3.0).
"""
import argparse, bisect, hashlib, json, os, re, stat, subprocess, sys
import tomllib  # Python 3.11+

HEX64 = re.compile(r"[0-9a-f]{64}\Z")
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")  # DER SPKI header, 12 bytes
UNESCAPE = {b"\\": b"\\", b"n": b"\n", b"r": b"\r"}
EMPTY_ROOT = hashlib.sha256(b"").digest()  # root of zero leaves ("The Merkle tree")
# Documented key lists ("statement.json", "sources.json", "Slices and proofs").
STATEMENT_KEYS = ["type", "agency", "client_id", "period", "period_first", "period_last", "seq",
                  "prev", "key_id", "invoice_number", "invoice_total", "currency", "sources", "generator"]
AGENCY_KEYS = ["type", "agency", "period", "period_first", "period_last", "key_id", "sources", "generator"]
SOURCE_KEYS = ["source", "file", "size", "sha256", "leaves", "root"]  # + "rows" in sources.json
PROOF_KEYS = SOURCE_KEYS + ["included", "subtrees"]


class CheckFailed(Exception):
    """The check being run does not hold; the message is the reason."""


def require(cond, reason):
    if not cond:
        raise CheckFailed(reason)


sha256 = lambda b: hashlib.sha256(b).digest()
is_uint = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0
is_hex64 = lambda v: isinstance(v, str) and HEX64.match(v) is not None


def load_json(raw, what):
    """Strict JSON: UTF-8, no duplicate keys, no floats/NaN ("All JSON is UTF-8", "no floating-point")."""
    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        require(len(keys) == len(set(keys)), f"{what}: duplicate key")
        return dict(pairs)

    def no_float(s):
        raise CheckFailed(f"{what}: floating-point number {s}")
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=no_dupes,
                          parse_float=no_float, parse_constant=no_float)
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckFailed(f"{what} does not parse: {e}")


def check_rel_path(p, what):
    """Relative, '/'-separated, no '.', '..' or empty component ("SHA256SUMS")."""
    require(p and "\0" not in p and not p.startswith("/"), f"{what}: bad path {p!r}")
    require(all(c not in ("", ".", "..") for c in p.split("/")), f"{what}: bad path {p!r}")


# ---- Check 1: signature ("SHA256SUMS and SHA256SUMS.sig", table row 1) --------------------

def load_key(pem):
    """Return key_id (hex SHA-256 of the raw 32-byte key) or None if unreadable / not Ed25519."""
    r = subprocess.run(["openssl", "pkey", "-pubin", "-in", pem, "-outform", "DER"], capture_output=True)
    der = r.stdout
    if r.returncode != 0 or len(der) != 44 or not der.startswith(ED25519_SPKI_PREFIX):
        return None
    return hashlib.sha256(der[-32:]).hexdigest()


def check_signature(bundle, keys):
    require(os.path.isfile(os.path.join(bundle, "SHA256SUMS")), "SHA256SUMS is missing")
    sig = os.path.join(bundle, "SHA256SUMS.sig")
    require(os.path.isfile(sig), "SHA256SUMS.sig is missing (unsigned preview?)")
    require(os.path.getsize(sig) == 64, "SHA256SUMS.sig is not exactly 64 bytes")
    for pem, key_id in keys:
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin",
                            "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig"],
                           cwd=bundle, capture_output=True)
        if r.returncode == 0:
            return pem, key_id
    raise CheckFailed("SHA256SUMS is not signed by any of the given keys")


# ---- Check 2: files ("SHA256SUMS", table row 2) ----------------------------------------------

def parse_manifest(data):
    """Parse GNU sha256sum text format strictly; return [(path, hex)] in file order."""
    require(data == b"" or data.endswith(b"\n"), "SHA256SUMS does not end with LF")
    entries = []
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        escaped = line.startswith(b"\\")
        if escaped:
            line = line[1:]
        digest, sep, raw = line[:64], line[64:66], line[66:]
        require(HEX64.match(digest.decode("latin-1")) and sep == b"  ",
                f"SHA256SUMS line {n} is not '<64 lowercase hex>  <path>'")
        if escaped:  # GNU escaping: \\ -> \, \n -> LF, \r -> CR; no other escape
            require(re.fullmatch(rb"(?:[^\\]|\\[\\nr])*", raw, re.S), f"SHA256SUMS line {n}: bad escape")
            raw = re.sub(rb"\\(.)", lambda m: UNESCAPE[m.group(1)], raw)
        # Canonical form: a line is escaped exactly when its path holds \, LF or CR.
        require(escaped == any(c in raw for c in b"\\\n\r"), f"SHA256SUMS line {n}: wrong escaping")
        try:
            path = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckFailed(f"SHA256SUMS line {n}: path is not UTF-8")
        check_rel_path(path, f"SHA256SUMS line {n}")
        require(path not in ("SHA256SUMS", "SHA256SUMS.sig"), f"SHA256SUMS lists {path}")
        require(not entries or entries[-1][0].encode() < raw,
                f"SHA256SUMS line {n}: {path!r} is not sorted bytewise after the previous path (or repeated)")
        entries.append((path, digest.decode()))
    return entries


def bundle_files(bundle):
    """Every non-directory entry of the bundle (symlinks included), as '/'-joined paths."""
    found = set()
    for root, dirs, files in os.walk(bundle):  # os.walk does not follow symlinks by default
        rel = os.path.relpath(root, bundle)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            found.add(name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}")
    return found - {"SHA256SUMS", "SHA256SUMS.sig"}


def check_files(bundle):
    with open(os.path.join(bundle, "SHA256SUMS"), "rb") as f:
        entries = parse_manifest(f.read())
    for path, digest in entries:
        full = os.path.join(bundle, *path.split("/"))
        try:
            st = os.lstat(full)
        except OSError:
            raise CheckFailed(f"{path} is listed in SHA256SUMS but missing")
        require(stat.S_ISREG(st.st_mode), f"{path} is not a plain file")
        with open(full, "rb") as f:
            require(hashlib.sha256(f.read()).hexdigest() == digest,
                    f"{path} does not match its hash in SHA256SUMS: it was changed")
    extra = sorted(bundle_files(bundle) - {p for p, _ in entries})
    if extra:
        raise CheckFailed(f"{extra[0]} is in the bundle but not listed in SHA256SUMS")
    return [p for p, _ in entries]


# ---- Check 3: statement ("statement.json", "agency/<period>/sources.json") ------------------

def check_sources_list(sources, agency):
    require(isinstance(sources, list), "sources is not a list")
    keys = SOURCE_KEYS[:5] + ["rows", "root"] if agency else SOURCE_KEYS
    for s in sources:
        require(isinstance(s, dict) and list(s) == keys, f"a sources entry does not have keys {keys}")
        require(isinstance(s["source"], str) and isinstance(s["file"], str), "bad source/file")
        check_rel_path(s["file"], "sources entry")
        require(all(is_uint(s[k]) for k in ("size", "leaves") + (("rows",) if agency else ())),
                f"{s['file']}: size/leaves/rows must be non-negative integers")
        require(is_hex64(s["sha256"]) and is_hex64(s["root"]), f"{s['file']}: bad sha256/root")
    files = [s["file"].encode() for s in sources]
    require(all(a < b for a, b in zip(files, files[1:])), "sources are not sorted by file (or repeat one)")


def check_statement(bundle, listed, key_id):
    here = os.path.realpath(bundle)  # "last two folder names", even when given as "."
    period, parent = os.path.basename(here), os.path.basename(os.path.dirname(here))
    has_stmt, has_src = "statement.json" in listed, "sources.json" in listed
    require(has_stmt != has_src, "expected exactly one of statement.json / sources.json")
    agency = has_src
    name = "sources.json" if agency else "statement.json"
    with open(os.path.join(bundle, name), "rb") as f:
        doc = load_json(f.read(), name)
    require(isinstance(doc, dict), f"{name} is not an object")
    want = AGENCY_KEYS if agency else STATEMENT_KEYS
    require(list(doc) == want, f"{name} keys are {list(doc)}, expected {want}")
    want_type = "tallyseal.sources.v1" if agency else "tallyseal.statement.v1"
    require(doc["type"] == want_type, f"{name} type is {doc['type']!r}, expected {want_type!r}")
    if agency:
        require(parent == "agency", f"sources.json sits in {parent}/{period}, not agency/<period>")
    else:
        require(doc["client_id"] == parent, f"statement names client {doc['client_id']!r}, folder is {parent!r}")
    require(doc["period"] == period, f"{name} names period {doc['period']!r}, folder is {period!r}")
    require(doc["key_id"] == key_id, f"{name} names key_id {doc['key_id']!r}, signature key is {key_id}")
    check_sources_list(doc["sources"], agency)
    return doc, agency


# ---- Merkle tree ("The Merkle tree", "Slices and proofs") -----------------------------------

def largest_pow2_below(n):  # k < n <= 2k, for n >= 2
    return 1 << ((n - 1).bit_length() - 1)


def verify_multiproof(slice_bytes, leaves, root_hex, included, subtrees):
    """The doc's root(start, end) recursion over [0, leaves); raises CheckFailed."""
    require(isinstance(included, list) and isinstance(subtrees, list), "included/subtrees not lists")
    idx, leaf, pos = [], {}, 0
    for e in included:
        require(isinstance(e, list) and len(e) == 2 and all(is_uint(x) for x in e), "bad included entry")
        i, length = e
        require(i < leaves and (not idx or i > idx[-1]), "included indices not strictly increasing below leaves")
        require(length >= 1, "included leaf of length 0")  # a leaf is never empty ("Leaves", rule 3)
        idx.append(i)
        leaf[i] = slice_bytes[pos:pos + length]
        pos += length
    require(pos == len(slice_bytes), f"included lengths add up to {pos}, slice has {len(slice_bytes)} bytes")
    for e in subtrees:
        require(isinstance(e, list) and len(e) == 3 and is_uint(e[0]) and is_uint(e[1]) and is_hex64(e[2]),
                "bad subtrees entry")
    if leaves == 0:  # documented special case: root H(""), no subtree
        require(not idx and not subtrees and bytes.fromhex(root_hex) == EMPTY_ROOT, "bad empty-tree proof")
        return
    used = 0

    def root(start, end):
        nonlocal used
        if bisect.bisect_left(idx, start) == bisect.bisect_left(idx, end):  # no included index in range
            require(used < len(subtrees), f"missing subtree [{start}, {end})")
            s, e, h = subtrees[used]
            require((s, e) == (start, end), f"subtree [{s}, {e}) given where [{start}, {end}) is expected")
            used += 1
            return bytes.fromhex(h)
        if end - start == 1:
            return sha256(b"\x00" + leaf[start])
        k = largest_pow2_below(end - start)
        return sha256(b"\x01" + root(start, start + k) + root(start + k, end))

    got = root(0, leaves)
    require(used == len(subtrees), f"{len(subtrees) - used} extra subtree(s) in proof")
    require(got == bytes.fromhex(root_hex), "recomputed Merkle root does not match")


def rfc9162_root(leaf_list):
    """MTH of RFC 9162 section 2.1.1, computed incrementally with a stack of perfect subtrees
    (independent of the recursion above): merge equal-sized neighbours, then fold right to left."""
    stack = []  # (size, hash)
    for lf in leaf_list:
        size, h = 1, sha256(b"\x00" + lf)
        while stack and stack[-1][0] == size:
            size, h = size * 2, sha256(b"\x01" + stack.pop()[1] + h)
        stack.append((size, h))
    if not stack:
        return EMPTY_ROOT
    h = stack.pop()[1]
    while stack:
        h = sha256(b"\x01" + stack.pop()[1] + h)
    return h


def split_leaves(data, skip_rows):
    """Cut a raw export into leaves ("Leaves of a raw export", rules 1-3)."""
    out, start, i, n = [], 0, 0, len(data)
    field_start, in_quotes = True, False
    while i < n:
        b = data[i]
        quoting = len(out) >= skip_rows  # quotes mean nothing in the first skip_rows leaves
        if in_quotes:
            if b == 0x22:  # '"'
                if i + 1 < n and data[i + 1] == 0x22:
                    i += 1  # '""' is an escaped quote
                else:
                    in_quotes = False
        elif b == 0x0A:  # LF ends the leaf (CR LF ends with its LF; a lone CR does nothing)
            out.append(data[start:i + 1])
            start, field_start = i + 1, True
            i += 1
            continue
        elif b == 0x2C:  # ','
            field_start = True
            i += 1
            continue
        elif b == 0x22 and field_start and quoting:
            in_quotes = True
        field_start = False
        i += 1
    if start < n:
        out.append(data[start:])
    return out


# ---- Check 4: proofs; check 6: sources ------------------------------------------------------

def check_proofs(bundle, listed, sources):
    data_files = {p for p in listed if p.startswith("data/")}
    expected = set()
    for s in sources:
        base = s["file"].split("/")[-1]
        pair = {f"data/{base}", f"data/{base}.proof.json"}
        require(not pair & expected, f"two exports share the file name {base}")
        expected |= pair
    extra, missing = sorted(data_files - expected), sorted(expected - data_files)
    if missing or extra:
        raise CheckFailed(f"{missing[0]} is missing" if missing else
                          f"{extra[0]} is in data/ but is no slice or proof of a stated source")
    for s in sources:
        base = os.path.join(bundle, "data", s["file"].split("/")[-1])
        with open(base + ".proof.json", "rb") as f:
            raw = f.read()
        what = f"data/{os.path.basename(base)}.proof.json"
        require(raw.endswith(b"\n") and raw.count(b"\n") == 1, f"{what} is not one line and a final LF")
        proof = load_json(raw, what)
        require(isinstance(proof, dict) and list(proof) == PROOF_KEYS, f"{what} keys are not {PROOF_KEYS}")
        for k in SOURCE_KEYS:  # type() too: JSON true must not pass for 1
            require(type(proof[k]) is type(s[k]) and proof[k] == s[k],
                    f"{what}: {k} is {proof[k]!r}, statement says {s[k]!r}")
        with open(base, "rb") as f:
            try:
                verify_multiproof(f.read(), s["leaves"], s["root"], proof["included"], proof["subtrees"])
            except CheckFailed as e:
                raise CheckFailed(f"{what}: {e}")
    return len(sources)


def load_skip_rows(project):
    with open(os.path.join(project, "tallyseal.toml"), "rb") as f:
        cfg = tomllib.load(f)
    skip = {s["name"]: s.get("skip_rows", 0) for s in cfg.get("source", [])}  # default 0
    if not all(is_uint(v) for v in skip.values()):
        raise TypeError("skip_rows must be a non-negative integer")
    return skip


def check_sources(project, skip_rows, sources):
    for s in sources:
        require(s["source"] in skip_rows, f"source {s['source']!r} is not in tallyseal.toml")
        try:
            with open(os.path.join(project, *s["file"].split("/")), "rb") as f:
                data = f.read()
        except OSError as e:
            raise CheckFailed(f"{s['file']} cannot be read: {e.strerror}")
        leaf_list = split_leaves(data, skip_rows[s["source"]])
        require(b"".join(leaf_list) == data, f"{s['file']}: leaves do not partition the file")  # sanity
        got = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
               "leaves": len(leaf_list), "root": rfc9162_root(leaf_list).hex()}
        for k, v in got.items():
            require(v == s[k], f"{s['file']}: {k} is {v}, statement says {s[k]}")
    return len(sources)


def usage_error(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("--key", action="append", required=True, help="trusted public key (PEM); repeatable")
    ap.add_argument("--sources", metavar="PROJECT", help="project folder holding the raw exports")
    args = ap.parse_args()  # exits 2 on bad arguments
    if not os.path.isdir(args.bundle):
        usage_error(f"{args.bundle} is not a folder")
    keys = [(os.path.abspath(pem), load_key(pem)) for pem in args.key]
    for pem, key_id in keys:
        if key_id is None:
            usage_error(f"{pem} is not a readable Ed25519 public key")
    skip_rows = None
    if args.sources is not None:
        try:
            skip_rows = load_skip_rows(args.sources)
        except (OSError, tomllib.TOMLDecodeError, AttributeError, KeyError, TypeError) as e:
            usage_error(f"{args.sources}: no usable tallyseal.toml ({e})")
    check = 0
    try:
        check = 1
        pem, key_id = check_signature(args.bundle, keys)
        print(f"check 1 signature ok: signed by key {key_id} ({os.path.basename(pem)})")
        check = 2
        listed = check_files(args.bundle)
        print(f"check 2 files ok: {len(listed)} files match SHA256SUMS, none unlisted")
        check = 3
        doc, agency = check_statement(args.bundle, set(listed), key_id)
        print(f"check 3 statement ok: {doc['type']} for {'agency' if agency else doc['client_id']}/{doc['period']}")
        check = 4
        n = check_proofs(args.bundle, listed, [] if agency else doc["sources"])
        print(f"check 4 proofs ok: {n} slice(s) prove their export's root")
        print("check 5 chain skipped (not implemented by this verifier)")
        check = 6
        if skip_rows is None:
            print("check 6 sources skipped (no --sources)")
        else:
            n = check_sources(args.sources, skip_rows, doc["sources"])
            print(f"check 6 sources ok: {n} raw export(s) match size, sha256, leaves and root")
    except (CheckFailed, OSError) as e:  # OSError: an unreadable file inside the bundle
        print(f"FAILED check {check}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
