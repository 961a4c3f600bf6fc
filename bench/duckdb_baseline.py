#!/usr/bin/env python3
"""DuckDB baseline of the tallyseal benchmark: parse every raw export of a project and
group its delivery by (source, campaign id, date) with sums.

It reads the project's tallyseal.toml the way tallyseal does for this purpose: each
[[source]]'s files glob, skip_rows (preamble lines), footer_prefix (totals rows,
dropped), thousands_separator (stripped before casting) and the header names of
campaign, date, impressions, clicks, conversions and spend. Every cell is read as text
and cast in SQL, so rows with thousands separators, quotes, CRLF and embedded line
breaks parse as tallyseal parses them. Blank records are dropped.

Prints one line: `duckdb <seconds> <rows> <groups> <threads>`; seconds cover the
query work only (connect, read, aggregate into a table, count), not Python start-up
or `import duckdb`.

Usage: duckdb_baseline.py <project> [threads]   (threads 0 = DuckDB's default)
"""

import csv
import glob
import os
import sys
import time
import tomllib

import duckdb


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def header_of(path: str, skip: int) -> list[str]:
    """The header record after `skip` preamble lines (each ends at a line feed)."""
    with open(path, "rb") as f:
        for _ in range(skip):
            f.readline()
        rest = f.read(1 << 16).decode("utf-8-sig")
    return next(csv.reader(rest.splitlines()))


def source_query(project: str, source: dict) -> str | None:
    files = sorted(
        f
        for f in glob.glob(os.path.join(project, "periods", "*", source["files"]))
        if os.path.isfile(f)
    )
    if not files:
        return None
    skip = source.get("skip_rows", 0)
    cols = source["columns"]
    first = header_of(files[0], skip)[0]
    sep = source.get("thousands_separator")

    def number(field: str, kind: str) -> str:
        if field not in cols:
            return f"CAST(NULL AS {kind})"
        cell = f"trim({quote_ident(cols[field])})"
        if sep:
            cell = f"replace({cell}, {quote_text(sep)}, '')"
        return f"CAST(nullif({cell}, '') AS {kind})"

    where = [f"trim({quote_ident(cols['date'])}) <> ''"]
    if source.get("footer_prefix"):
        prefix = quote_text(source["footer_prefix"])
        where.append(f"NOT starts_with(coalesce(trim({quote_ident(first)}), ''), {prefix})")
    file_list = "[" + ", ".join(quote_text(f) for f in files) + "]"
    return f"""
        SELECT {quote_text(source['name'])} AS source,
               trim({quote_ident(cols['campaign'])}) AS campaign,
               CAST(trim({quote_ident(cols['date'])}) AS DATE) AS day,
               {number('impressions', 'BIGINT')} AS impressions,
               {number('clicks', 'BIGINT')} AS clicks,
               {number('conversions', 'DECIMAL(18,4)')} AS conversions,
               {number('spend', 'DECIMAL(18,4)')} AS spend
        FROM read_csv({file_list}, skip = {skip}, header = true, all_varchar = true,
                      delim = ',', quote = '"', escape = '"',
                      union_by_name = true)
        WHERE {' AND '.join(where)}"""


def main() -> None:
    project = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    with open(os.path.join(project, "tallyseal.toml"), "rb") as f:
        config = tomllib.load(f)
    parts = [q for s in config.get("source", []) if (q := source_query(project, s))]
    start = time.perf_counter()
    con = duckdb.connect()
    if threads > 0:
        con.execute(f"SET threads = {threads}")
    used = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute(
        "CREATE TEMP TABLE delivery AS SELECT source, campaign, day, count(*) AS rows, "
        "sum(impressions) AS impressions, sum(clicks) AS clicks, "
        "sum(conversions) AS conversions, sum(spend) AS spend FROM ("
        + " UNION ALL ".join(parts)
        + ") GROUP BY source, campaign, day"
    )
    rows, groups = con.execute("SELECT sum(rows), count(*) FROM delivery").fetchone()
    seconds = time.perf_counter() - start
    print(f"duckdb {seconds:.3f} {rows} {groups} {used}")


if __name__ == "__main__":
    main()
