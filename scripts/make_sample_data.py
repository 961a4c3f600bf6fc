#!/usr/bin/env python3
"""Generate the tallyseal demo project in ``sample-data/``.

Deterministic: standard library only, one fixed ``random.Random(SEED)``, no clock.
Running it twice gives byte-identical files.  It deletes and recreates everything in
``sample-data/`` except ``sample-data/keys/`` (the demo signing key is created once,
with ``openssl``, only when it is missing, and never regenerated) and the sealed
periods' ``sealed/`` folders and ``seal.lock`` files: 2026-08 and 2026-09 are sealed
(``tallyseal seal sample-data 2026-08``, then ``2026-09``).  If a change here alters a
sealed period's inputs, ``build`` names the file: delete those periods' ``sealed/`` and
``seal.lock`` and seal them again.

The demo agency is Northwind Media Ltd (London) with six clients over three billing
periods (2026-08, 2026-09, 2026-10).  Every deliberate scenario and anomaly is listed,
with its file and line, in the generated ``sample-data/README.md``.

The script also carries a small reference computation of rules.md (exact decimals,
half-up rounding) that it uses to size budgets and payments and to assert that the
variances it explains are exactly the variances the data produces.  Those expected
figures are printed into the README as a cross-check; the spec stays normative.
"""

from __future__ import annotations

import calendar
import csv
import io
import os
import shutil
import struct
import subprocess
import sys
import zlib
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path
import random

SEED = 20261031
ROOT = Path(__file__).resolve().parent.parent / "sample-data"
PERIODS = ["2026-08", "2026-09", "2026-10"]
MINOR = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0}
D = Decimal

rng = random.Random(SEED)


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------

def d(s: str) -> date:
    return date.fromisoformat(s)


def period_first(p: str) -> date:
    y, m = map(int, p.split("-"))
    return date(y, m, 1)


def period_last(p: str) -> date:
    y, m = map(int, p.split("-"))
    return date(y, m, calendar.monthrange(y, m)[1])


def period_days(p: str) -> list[date]:
    a, b = period_first(p), period_last(p)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


ALL_DAYS = [x for p in PERIODS for x in period_days(p)]


def qround(x: Decimal, places: int) -> Decimal:
    """round(x, C) of rules.md in the configured mode (half_up: away from zero)."""
    return x.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)


def money(x: Decimal, cur: str) -> str:
    return f"{qround(x, MINOR[cur]):.{MINOR[cur]}f}"


def thousands(x, places: int = 0) -> str:
    """Number as the Google Ads export writes it: 12,345 / 1,234.56."""
    return f"{x:,.{places}f}" if places else f"{int(x):,}"


def split_int(total: int, weights: list[float]) -> list[int]:
    """Split an integer total by weights (largest remainder), summing exactly."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    rest = total - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[:rest]:
        out[i] += 1
    return out


def poisson(lam: float) -> int:
    # Knuth; small lambdas only
    import math
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def weekend(day: date) -> bool:
    return day.weekday() >= 5


class CsvDoc:
    """Renders a CSV file record by record and remembers each record's first line."""

    def __init__(self, lineterminator: str = "\n"):
        self.lt = lineterminator
        self.parts: list[str] = []
        self.lines = 0  # physical lines written so far

    def raw(self, text: str) -> int:
        start = self.lines + 1
        self.parts.append(text)
        self.lines += text.count("\n")
        return start

    def row(self, cells) -> int:
        buf = io.StringIO()
        csv.writer(buf, lineterminator=self.lt, quoting=csv.QUOTE_MINIMAL).writerow(
            ["" if c is None else str(c) for c in cells])
        return self.raw(buf.getvalue())

    def text(self) -> str:
        return "".join(self.parts)


def write(rel: str, content, binary: bool = False) -> None:
    path = ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if binary:
        path.write_bytes(content)
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(content)
    FILES.append(rel)


FILES: list[str] = []
SCENARIOS: list[tuple[str, str]] = []


def scenario(what: str, where: str) -> None:
    SCENARIOS.append((what, where))


# ---------------------------------------------------------------------------
# master data
# ---------------------------------------------------------------------------

AGENCY = {
    "name": "Northwind Media Ltd",
    "address": "Unit 4, 27 Example Yard, London EC1V 4XX, United Kingdom",
    "country": "GB",
    "tax_id": "GB123456789",
    "email": "billing@northwind.example",
}

CLIENTS = [
    dict(client_id="alpenrose", name="Alpenrose Uhren AG",
         address="Bahnhofstrasse 42\n8001 Zürich\nSwitzerland", country="CH", currency="CHF",
         tax_id="CHE-123.456.789 MWST", tax_treatment="standard", tax_rate="8.1",
         payment_terms_days=30, email="kreditoren@alpenrose-uhren.example"),
    dict(client_id="brightwater", name="Brightwater Foods Ltd",
         address="Unit 7, Trafford Wharf\nManchester M17 1HH\nUnited Kingdom", country="GB",
         currency="GBP", tax_id="GB987654321", tax_treatment="standard", tax_rate="20",
         payment_terms_days=30, email="accounts.payable@brightwaterfoods.example"),
    dict(client_id="helios", name="Helios Energie GmbH",
         address="Friedrichstraße 120\n10117 Berlin\nGermany", country="DE", currency="EUR",
         tax_id="DE811234567", tax_treatment="reverse_charge", tax_rate="",
         payment_terms_days=14, email="kreditoren@helios-energie.example"),
    dict(client_id="kumo", name="Kumo Software K.K.",
         address="〒150-0002 東京都渋谷区渋谷2-21-1\nShibuya-ku, Tokyo 150-0002\nJapan", country="JP",
         currency="JPY", tax_id="T1234567890123", tax_treatment="standard", tax_rate="10",
         payment_terms_days=45, email="keiri@kumo-software.example"),
    dict(client_id="oakridge", name="Oakridge Travel Ltd",
         address="3 Harbour Row\nBelfast BT1 3GA\nUnited Kingdom", country="GB", currency="EUR",
         tax_id="GB555666777", tax_treatment="standard", tax_rate="20",
         payment_terms_days=30, email="finance@oakridgetravel.example"),
    dict(client_id="redwood", name="Redwood Outdoor Inc.",
         address="1450 Mission Street, Suite 300\nSan Francisco, CA 94103\nUSA", country="US",
         currency="USD", tax_id="", tax_treatment="exempt", tax_rate="",
         payment_terms_days=30, email="ap@redwoodoutdoor.example"),
]
CLIENT = {c["client_id"]: c for c in CLIENTS}

# budget None = no cap; "computed" budgets are sized from the generated delivery below.
LINES = [
    dict(line_id="alp-search-cpc", client_id="alpenrose", campaign="alp-search",
         description="Google Search, brand and generic, per click", model="cpc",
         rate="3.95", currency="CHF", budget=None, start="2026-08-01", end="2026-10-31",
         basis="platform", po_number="PO-ALP-2026-114"),
    dict(line_id="alp-strategy-hours", client_id="alpenrose", campaign="",
         description="Digital strategy and reporting consultancy", model="hourly",
         rate="150.00", currency="EUR", budget=None, start="2026-08-01", end="2026-12-31",
         basis="", po_number="PO-ALP-2026-115"),
    dict(line_id="bw-display-cpm", client_id="brightwater", campaign="bw-autumn-display",
         description="Autumn programmatic display, CPM on CM360-verified impressions",
         model="cpm", rate="6.50", currency="GBP", budget="computed", start="2026-08-04",
         end="2026-10-31", basis="", po_number="BW-PO-77120"),
    dict(line_id="bw-display-fee", client_id="brightwater", campaign="bw-autumn-display",
         description="Trading desk fee, 12% of Google Ads media spend", model="media_pct",
         rate="12", currency="GBP", budget=None, start="2026-08-04", end="2026-10-31",
         basis="", po_number="BW-PO-77120"),
    dict(line_id="hel-social-cpm", client_id="helios", campaign="hel-launch-social",
         description="Heat-pump launch, Meta paid social, CPM (CM360-verified)", model="cpm",
         rate="9.50", currency="EUR", budget="computed", start="2026-08-01", end="2026-09-20",
         basis="", po_number="4500012345"),
    dict(line_id="hel-social-fee", client_id="helios", campaign="hel-launch-social",
         description="Social media management fee, 10% of Meta media spend", model="media_pct",
         rate="10", currency="EUR", budget=None, start="2026-08-01", end="2026-09-20",
         basis="", po_number="4500012345"),
    dict(line_id="hel-website", client_id="helios", campaign="",
         description="Website relaunch, fixed-price milestones", model="milestone",
         rate="", currency="EUR", budget="24000.00", start="2026-08-01", end="2026-12-31",
         basis="", po_number="4500012346"),
    dict(line_id="kumo-video-cpm", client_id="kumo", campaign="kumo-autumn-video",
         description="YouTube video campaign Japan, CPM (CM360)", model="cpm",
         rate="9.80", currency="USD", budget="18000.00", start="2026-08-10", end="2026-10-31",
         basis="ad_server", po_number="K-2026-118"),
    dict(line_id="kumo-localisation", client_id="kumo", campaign="",
         description="Creative localisation EN to JA, per hour", model="hourly",
         rate="12000", currency="JPY", budget=None, start="2026-08-01", end="2026-10-31",
         basis="", po_number=""),
    dict(line_id="oak-retainer", client_id="oakridge", campaign="",
         description="Monthly SEO and content retainer", model="flat",
         rate="3500.00", currency="EUR", budget=None, start="2026-08-18", end="2027-02-28",
         basis="", po_number="OAK-2026-031"),
    dict(line_id="oak-search-cpa", client_id="oakridge", campaign="oak-autumn-search",
         description="Google Search, cost per booking", model="cpa",
         rate="38.00", currency="EUR", budget=None, start="2026-08-01", end="2026-09-30",
         basis="platform", po_number="OAK-2026-032"),
    dict(line_id="rw-prospecting-cpa", client_id="redwood", campaign="rw-prospecting",
         description="Meta prospecting, cost per purchase", model="cpa",
         rate="55.00", currency="USD", budget=None, start="2026-08-01", end="2026-10-31",
         basis="platform", po_number=""),
    dict(line_id="rw-reporting", client_id="redwood", campaign="",
         description="Monthly analytics and reporting package", model="flat",
         rate="1500.00", currency="GBP", budget=None, start="2026-08-01", end="2026-12-31",
         basis="", po_number="RW-4471"),
]
LINE = {l["line_id"]: l for l in LINES}

SOURCES = {"google_ads": "platform", "meta": "platform", "cm360": "ad_server"}

# Google Ads campaigns (one MCC export, several accounts and currencies)
GOOGLE = [
    dict(cid="20871001", name="Alpenrose | Brand | CH", cur="CHF", campaign="alp-search",
         first="2026-08-01", last="2026-10-31", impr=(800, 1300), ctr=(0.085, 0.12),
         cpc=(1.05, 1.55), cvr=(0.03, 0.05), wkend=1.15),
    dict(cid="20871002", name="Alpenrose | Generic | CH", cur="CHF", campaign="alp-search",
         first="2026-08-01", last="2026-10-31", impr=(3000, 5200), ctr=(0.036, 0.05),
         cpc=(3.40, 4.70), cvr=(0.010, 0.018), wkend=1.1),
    dict(cid="20871310", name="BW | Autumn Display | Prospecting", cur="GBP",
         campaign="bw-autumn-display", first="2026-08-01", last="2026-10-31",
         impr=(40000, 52000), ctr=(0.0035, 0.006), cpm=(2.10, 2.70), cvr=(0.02, 0.04),
         wkend=0.9),
    dict(cid="20871311", name="BW | Autumn Display | Remarketing", cur="GBP",
         campaign="bw-autumn-display", first="2026-08-04", last="2026-10-31",
         impr=(15000, 21000), ctr=(0.006, 0.010), cpm=(3.00, 3.80), cvr=(0.03, 0.05),
         wkend=0.95),
    dict(cid="20871520", name="Kumo | 秋の動画 | YouTube JP", cur="JPY",
         campaign="kumo-autumn-video", first="2026-08-10", last="2026-10-31",
         impr=(34000, 45000), ctr=(0.005, 0.008), cpm=(540, 690), cvr=(0.01, 0.02), wkend=1.2),
    dict(cid="20871740", name="Oakridge | Search | Autumn breaks", cur="EUR",
         campaign="oak-autumn-search", first="2026-08-01", last="2026-10-31",
         impr=(2300, 3500), ctr=(0.05, 0.065), cpc=(0.95, 1.35), cvr=(0.028, 0.042),
         wkend=1.25),
    # not in the crosswalk: an internal test campaign that ran in the MCC
    dict(cid="20871999", name="NW | Internal test | do not bill", cur="GBP", campaign=None,
         only=["2026-08-06", "2026-08-07", "2026-10-02"], impr=(150, 400), ctr=(0.01, 0.02),
         cpm=(2.0, 3.0), cvr=(0.0, 0.0), wkend=1.0),
]

META_CAMPAIGNS = [
    dict(cid="120208811230001", name="Helios – Launch – Awareness", campaign="hel-launch-social",
         ads=[("120208811230101", "Awareness – Hero video 15s", "2026-08-01", "2026-09-22"),
              ("120208811230102", "Heat pump hero, v2", "2026-08-01", "2026-09-22"),
              ("120208811230103", "Awareness – Static A", "2026-08-01", "2026-08-24"),
              ("120208811230104", "Awareness – Static B", "2026-08-12", "2026-09-22"),
              ("120208811230105", "Carousel – Berlin\n(story cut)", "2026-08-01", "2026-09-22")],
         impr=(10000, 15000), ctr=(0.008, 0.013), cpm=(6.2, 7.8), res=0.15),
    dict(cid="120208811230002", name="Helios – Launch – Retargeting",
         campaign="hel-launch-social",
         ads=[("120208811230201", "RT – Savings calculator", "2026-08-01", "2026-09-22"),
              ("120208811230202", "RT – Testimonial, Katrin", "2026-08-05", "2026-09-22"),
              ("120208811230203", "RT – Offer ends soon", "2026-09-01", "2026-09-22")],
         impr=(6000, 9000), ctr=(0.012, 0.018), cpm=(8.0, 9.5), res=0.4),
    dict(cid="120208877410001", name="Redwood – Prospecting – Broad", campaign="rw-prospecting",
         ads=[("120208877410101", "Trail pack, v2", "2026-08-01", "2026-10-31"),
              ("120208877410102", "Trail pack – UGC", "2026-08-01", "2026-10-31"),
              ("120208877410103", "Rain shell – static", "2026-08-01", "2026-09-15"),
              ("120208877410104", "Rain shell – video", "2026-09-01", "2026-10-31"),
              ("120208877410105", "Camp kitchen carousel", "2026-08-01", "2026-10-31")],
         impr=(5500, 8500), ctr=(0.009, 0.013), cpm=(8.0, 10.0), res=1.3),
    dict(cid="120208877410002", name="Redwood – Prospecting – Lookalike 3%",
         campaign="rw-prospecting",
         ads=[("120208877410201", "LAL – Trail pack, v2", "2026-08-01", "2026-10-31"),
              ("120208877410202", "LAL – Fall layering", "2026-08-20", "2026-10-31"),
              ("120208877410203", "LAL – Gift guide", "2026-10-05", "2026-10-31")],
         impr=(4500, 7000), ctr=(0.010, 0.014), cpm=(9.0, 11.0), res=1.2),
]

# CM360 campaigns: which platform campaigns they track, their placements, the
# CM360 / platform impression ratio (normal vs the bad month)
CM360 = [
    dict(cid="31500421", name="BW_AutumnDisplay_2026_PROS", advertiser="Brightwater Foods",
         campaign="bw-autumn-display", tracks=("google", ["20871310"]),
         placements=[("402118811", "BW_PROS_GDN_300x250"), ("402118812", "BW_PROS_GDN_728x90"),
                     ("402118813", "BW_PROS_GDN_160x600"), ("402118814", "BW_PROS_GDN_320x50_MOB"),
                     ("402118815", "BW_PROS_GDN_Responsive")]),
    dict(cid="31500422", name="BW_AutumnDisplay_2026_RMK", advertiser="Brightwater Foods",
         campaign="bw-autumn-display", tracks=("google", ["20871311"]),
         placements=[("402118821", "BW_RMK_GDN_300x250"), ("402118822", "BW_RMK_GDN_320x50_MOB"),
                     ("402118823", "BW_RMK_GDN_Responsive")]),
    dict(cid="31500577", name="HEL_Launch_Social_2026", advertiser="Helios Energie",
         campaign="hel-launch-social",
         tracks=("meta", ["120208811230001", "120208811230002"]),
         placements=[("402207701", "HEL_FB_Feed"), ("402207702", "HEL_IG_Feed"),
                     ("402207703", "HEL_IG_Stories"), ("402207704", "HEL_Reels")]),
    dict(cid="31500610", name="KUMO_AutumnVideo_JP", advertiser="Kumo Software",
         campaign="kumo-autumn-video", tracks=("google", ["20871520"]),
         placements=[("402310001", "KUMO_YT_Instream_15s"), ("402310002", "KUMO_YT_Instream_30s"),
                     ("402310003", "KUMO_YT_Bumper_6s")]),
]

OUTAGE_DAY = d("2026-08-14")             # CM360 tag outage on the Helios placements
DUP_DAY = d("2026-08-22")                # a CM360 row exported twice
BW_BAD_MONTH = "2026-08"                 # CM360 vs Google discrepancy above 10 %

CROSSWALK = (
    [("google_ads", g["cid"], g["campaign"]) for g in GOOGLE if g["campaign"]]
    + [("meta", m["cid"], m["campaign"]) for m in META_CAMPAIGNS]
    + [("cm360", c["cid"], c["campaign"]) for c in CM360]
)
XW = {(s, i): c for s, i, c in CROSSWALK}

# locked FX rates per period: (as_of, from, to, rate, source)
FX = {
    "2026-08": [
        ("2026-08-14", "EUR", "CHF", "0.9402", "ECB reference rate"),
        ("2026-08-31", "EUR", "CHF", "0.9368", "ECB reference rate"),
        ("2026-08-31", "USD", "EUR", "0.8571", "ECB reference rate (USD/EUR, inverted)"),
        ("2026-08-31", "USD", "JPY", "146.82", "WM/Reuters 4pm London fix"),
        ("2026-08-31", "GBP", "USD", "1.3412", "Bank of England spot rate"),
    ],
    "2026-09": [
        ("2026-09-30", "EUR", "CHF", "0.9351", "ECB reference rate"),
        ("2026-09-30", "USD", "EUR", "0.8544", "ECB reference rate (USD/EUR, inverted)"),
        ("2026-09-30", "USD", "JPY", "148.05", "WM/Reuters 4pm London fix"),
        ("2026-09-30", "GBP", "USD", "1.3390", "Bank of England spot rate"),
        # keyed twice (same rate, second source label): accepted, first source shown
        ("2026-09-30", "GBP", "USD", "1.3390", "Bank of England spot rate (re-keyed)"),
    ],
    "2026-10": [
        ("2026-10-15", "USD", "JPY", "151.20", "WM/Reuters 4pm London fix"),
        ("2026-10-30", "EUR", "CHF", "0.9330", "ECB reference rate"),
        ("2026-10-30", "USD", "EUR", "0.8602", "ECB reference rate (USD/EUR, inverted)"),
        ("2026-10-30", "USD", "JPY", "156.73", "WM/Reuters 4pm London fix"),
        ("2026-10-30", "GBP", "USD", "1.3275", "Bank of England spot rate"),
    ],
}


def locked_rate(p: str, frm: str, to: str):
    """Latest as_of <= P.last among P's fx.csv rows (rules: direct pairs only)."""
    best = None
    for as_of, f, t, rate, src in FX[p]:
        if f == frm and t == to and d(as_of) <= period_last(p):
            if best is None or d(as_of) > d(best[0]):
                best = (as_of, D(rate), src)
    if best is None:
        raise SystemExit(f"needed fx pair {frm}->{to} missing in {p}")
    return best[1]


# ---------------------------------------------------------------------------
# delivery generation
# ---------------------------------------------------------------------------

def in_range(day: date, first: str, last: str) -> bool:
    return d(first) <= day <= d(last)


google_rows: list[dict] = []
for g in GOOGLE:
    days = [d(x) for x in g["only"]] if "only" in g else [x for x in ALL_DAYS if in_range(x, g["first"], g["last"])]
    for day in days:
        f = g["wkend"] if weekend(day) else 1.0
        impr = int(rng.uniform(*g["impr"]) * f)
        if g["cid"] == "20871310" and day < d("2026-08-04"):
            impr = int(impr * rng.uniform(0.12, 0.18))   # tag test before launch
        clicks = int(round(impr * rng.uniform(*g["ctr"])))
        places = MINOR[g["cur"]]
        if "cpc" in g:
            cost = D(str(clicks * rng.uniform(*g["cpc"])))
        else:
            cost = D(str(impr * rng.uniform(*g["cpm"]) / 1000))
        cost = qround(cost, places)
        conv = qround(D(str(clicks * rng.uniform(*g["cvr"]) * rng.uniform(0.7, 1.3))), 2)
        google_rows.append(dict(cid=g["cid"], name=g["name"], cur=g["cur"], date=day,
                                impr=impr, clicks=clicks, cost=cost, conv=conv))

meta_rows: list[dict] = []
for m in META_CAMPAIGNS:
    for ad_id, ad_name, first, last in m["ads"]:
        for day in ALL_DAYS:
            if not in_range(day, first, last):
                continue
            f = 1.1 if weekend(day) else 1.0
            impr = int(rng.uniform(*m["impr"]) * f)
            clicks = int(round(impr * rng.uniform(*m["ctr"])))
            spend = qround(D(str(impr * rng.uniform(*m["cpm"]) / 1000)), 2)
            results = poisson(m["res"])
            meta_rows.append(dict(cid=m["cid"], cname=m["name"], ad_id=ad_id, ad_name=ad_name,
                                  date=day, impr=impr, clicks=clicks, results=results,
                                  spend=spend))
meta_rows.sort(key=lambda r: (r["date"], r["cid"], r["ad_id"]))

cm_rows: list[dict] = []
for c in CM360:
    platform, ids = c["tracks"]
    src_rows = google_rows if platform == "google" else meta_rows
    for day in ALL_DAYS:
        todays = [r for r in src_rows if r["cid"] in ids and r["date"] == day]
        if not todays:
            continue
        if c["campaign"] == "hel-launch-social" and day == OUTAGE_DAY:
            continue  # tracking outage: CM360 has no row at all that day
        p_impr = sum(r["impr"] for r in todays)
        p_clicks = sum(r["clicks"] for r in todays)
        if c["campaign"] == "bw-autumn-display" and period_of(day) == BW_BAD_MONTH:
            ratio = rng.uniform(0.845, 0.875)
        elif c["campaign"] == "kumo-autumn-video":
            ratio = rng.uniform(0.965, 0.99)
        else:
            ratio = rng.uniform(0.955, 0.985)
        weights = [rng.uniform(0.6, 1.4) for _ in c["placements"]]
        imprs = split_int(int(round(p_impr * ratio)), weights)
        clicks = split_int(int(round(p_clicks * rng.uniform(0.85, 0.95))), weights)
        for (pid, pname), i, k in zip(c["placements"], imprs, clicks):
            conv = poisson(k * 0.03)
            cm_rows.append(dict(cid=c["cid"], cname=c["name"], advertiser=c["advertiser"],
                                pid=pid, pname=pname, date=day, impr=i, clicks=k, conv=conv))
cm_rows.sort(key=lambda r: (r["date"], r["cid"], r["pid"]))


# canonical delivery rows, as the loader will see them (duplicates removed)
def delivery_rows() -> list[dict]:
    out, seen = [], set()
    for r in google_rows:
        out.append(dict(source="google_ads", cid=r["cid"], date=r["date"], grain=(),
                        impr=r["impr"], clicks=r["clicks"], conv=r["conv"], spend=r["cost"],
                        cur=r["cur"]))
    for r in meta_rows:
        out.append(dict(source="meta", cid=r["cid"], date=r["date"], grain=(r["ad_id"],),
                        impr=r["impr"], clicks=r["clicks"], conv=D(r["results"]),
                        spend=r["spend"], cur="USD"))
    for r in cm_rows:
        out.append(dict(source="cm360", cid=r["cid"], date=r["date"], grain=(r["pid"],),
                        impr=r["impr"], clicks=r["clicks"], conv=D(r["conv"]), spend=None,
                        cur=None))
    res = []
    for r in out:
        key = (r["source"], r["cid"], r["date"], r["grain"])
        assert key not in seen, key
        seen.add(key)
        r["kind"] = SOURCES[r["source"]]
        r["campaign"] = XW.get((r["source"], r["cid"]))
        res.append(r)
    return res


DELIVERY = delivery_rows()


# ---------------------------------------------------------------------------
# period events (change orders, milestones, timesheets, adjustments, payments)
# ---------------------------------------------------------------------------

CHANGE_ORDERS = [  # budget of CO-0016 is sized below
    dict(period="2026-09", change_id="CO-0014", line_id="bw-display-cpm",
         effective_from="2026-09-16", rate="7.10", budget="", end="", requested_by="j.okafor",
         approved_by="m.lindqvist", approved_at="2026-09-12",
         reference="IO BW-77120 amendment 2 (Q4 rate card)"),
    dict(period="2026-09", change_id="CO-0015", line_id="oak-search-cpa",
         effective_from="2026-09-21", rate="", budget="", end="2026-10-31",
         requested_by="l.moreau", approved_by="m.lindqvist", approved_at="2026-09-24",
         reference="Email S. Keane (Oakridge) 2026-09-23: extend to end of October"),
    dict(period="2026-09", change_id="CO-0016", line_id="kumo-video-cpm",
         effective_from="2026-09-01", rate="", budget=None, end="", requested_by="y.tanaka",
         approved_by="m.lindqvist", approved_at="2026-09-05",
         reference="Kumo PO K-2026-118 rev. 1"),
    dict(period="2026-10", change_id="CO-0021", line_id="rw-prospecting-cpa",
         effective_from="2026-10-20", rate="60.00", budget="", end="", requested_by="d.howard",
         approved_by="", approved_at="", reference="Q4 rate review, awaiting Redwood sign-off"),
    dict(period="2026-10", change_id="CO-0022", line_id="kumo-localisation",
         effective_from="2026-10-01", rate="13500", budget="", end="", requested_by="y.tanaka",
         approved_by="y.tanaka", approved_at="2026-10-02",
         reference="2026-Q4 localisation rate card"),
]

MILESTONES = {
    "2026-08": [("hel-website", "M1", "Discovery and UX wireframes", "6500.00", "2026-08-27",
                 "Katrin Vogel (Helios)", "HEL-ACC-2026-041")],
    "2026-09": [("hel-website", "M1", "Discovery and UX wireframes", "6500.00", "2026-08-27",
                 "Katrin Vogel (Helios)", "HEL-ACC-2026-041"),
                ("hel-website", "M2", "Visual design system", "8000.00", "", "", "")],
    "2026-10": [("hel-website", "M1", "Discovery and UX wireframes", "6500.00", "2026-08-27",
                 "Katrin Vogel (Helios)", "HEL-ACC-2026-041"),
                ("hel-website", "M2", "Visual design system", "8000.00", "2026-10-08",
                 "Jonas Richter (Helios)", "HEL-ACC-2026-057"),
                ("hel-website", "M3", "Build, QA and launch", "9500.00", "2026-10-30", "",
                 "awaiting client sign-off")],
}

TIMESHEET_PLAN = {
    # line: (people, tasks, hours per period)
    "alp-strategy-hours": (
        ["Priya Natarajan", "Tom Ellery", "Sofia Brandt"],
        ["Search query report review", "Monthly performance deck", "Bid strategy workshop",
         "Competitor auction insights", "Attribution model review", "Client call, weekly",
         "Landing page test plan"],
        {"2026-08": D("22.5"), "2026-09": D("26"), "2026-10": D("24.25")}),
    "kumo-localisation": (
        ["Yui Tanaka", "Ken Mori"],
        ["Subtitle translation, 15s cut", "Subtitle translation, 30s cut",
         "Landing page copy (JA)", "Bumper copy variants", "QA of Japanese creatives"],
        {"2026-08": D("14"), "2026-09": D("18.5"), "2026-10": D("16")}),
}
TIMESHEETS: dict[str, list[tuple]] = {p: [] for p in PERIODS}
for line_id, (people, tasks, plan) in TIMESHEET_PLAN.items():
    for p in PERIODS:
        workdays = [x for x in period_days(p) if not weekend(x)]
        left, entries = plan[p], []
        while left > 0:
            h = min(left, D(rng.choice(["0.5", "0.75", "1", "1.5", "2", "2.5", "3", "4"])))
            entries.append((rng.choice(workdays), rng.choice(people), h, rng.choice(tasks)))
            left -= h
        entries.sort(key=lambda e: (e[0], e[1]))
        TIMESHEETS[p] += [(line_id, day.isoformat(), who, h, task) for day, who, h, task in entries]

ADJUSTMENTS = {  # amounts of ADJ-0901 etc are fixed; evidence under the period's attachments/
    "2026-08": [
        dict(adjustment_id="ADJ-0801", client_id="helios", line_id="hel-social-cpm",
             kind="make_good", amount="250.00", currency="EUR", reason="tracking_outage",
             description="Make-good for the 14 Aug CM360 tag outage: attribution data for the day lost",
             requested_by="r.patel", approved_by="m.lindqvist", approved_at="2026-08-28",
             evidence="outage/cm360-incident-2026-08-14.txt", invoice_number=""),
    ],
    "2026-09": [
        dict(adjustment_id="ADJ-0901", client_id="brightwater", line_id="bw-display-fee",
             kind="credit", amount="96.40", currency="GBP", reason="data_restatement",
             description="Google Ads invalid-activity refund on August media (GBP 803.33): 12% fee credited back",
             requested_by="j.okafor", approved_by="m.lindqvist", approved_at="2026-09-18",
             evidence="credits/google-ads-invalid-activity-credit-2026-08.pdf",
             invoice_number="NW-00002"),
        dict(adjustment_id="ADJ-0902", client_id="kumo", line_id="kumo-localisation",
             kind="fee", amount="45000", currency="JPY", reason="other",
             description="Weekend rush surcharge, launch subtitles (agreed by e-mail)",
             requested_by="y.tanaka", approved_by="m.lindqvist", approved_at="2026-09-25",
             evidence="fees/kumo-rush-surcharge-approval.txt", invoice_number=""),
        dict(adjustment_id="ADJ-0903", client_id="oakridge", line_id="oak-retainer",
             kind="credit", amount="150.00", currency="EUR", reason="creative_delay",
             description="Goodwill credit: September content calendar delivered 9 days late",
             requested_by="l.moreau", approved_by="", approved_at="",
             evidence="adjustments/oak-content-delay-2026-09.txt", invoice_number=""),
    ],
    "2026-10": [
        dict(adjustment_id="ADJ-0903", client_id="oakridge", line_id="oak-retainer",
             kind="credit", amount="150.00", currency="EUR", reason="creative_delay",
             description="Goodwill credit: September content calendar delivered 9 days late",
             requested_by="l.moreau", approved_by="m.lindqvist", approved_at="2026-10-09",
             evidence="adjustments/oak-content-delay-2026-09.txt", invoice_number=""),
        dict(adjustment_id="ADJ-1001", client_id="alpenrose", line_id="alp-search-cpc",
             kind="fee", amount="350.00", currency="CHF", reason="other",
             description="One-off: server-side conversion tracking setup",
             requested_by="p.natarajan", approved_by="m.lindqvist", approved_at="2026-10-12",
             evidence="https://northwind.example/quotes/ALP-2026-Q-019", invoice_number=""),
    ],
}


def approved(item: dict, p: str) -> bool:
    return (bool(item["approved_by"]) and item["approved_by"] != item["requested_by"]
            and bool(item["approved_at"]) and d(item["approved_at"]) <= period_last(p))


# ---------------------------------------------------------------------------
# reference computation of rules.md (used to size and to assert the scenarios)
# ---------------------------------------------------------------------------

def cos_in_force(line_id: str, p: str) -> list[dict]:
    cos = [c for c in CHANGE_ORDERS if c["line_id"] == line_id and c["period"] <= p
           and approved(c, p)]
    return sorted(cos, key=lambda c: (c["effective_from"], c["change_id"]))


def rate_on(line: dict, day: date, p: str) -> Decimal:
    r = D(line["rate"]) if line["rate"] else D(0)
    for c in cos_in_force(line["line_id"], p):
        if c["rate"] and d(c["effective_from"]) <= day:
            r = D(c["rate"])
    return r


def end_at(line: dict, p: str) -> date:
    e = d(line["end"])
    for c in cos_in_force(line["line_id"], p):
        if c["end"] and d(c["effective_from"]) <= period_last(p):
            e = d(c["end"])
    return e


def budget_at(line: dict, p: str):
    b = D(line["budget"]) if line["budget"] not in (None, "", "computed") else None
    for c in cos_in_force(line["line_id"], p):
        if c["budget"] and d(c["effective_from"]) <= period_last(p):
            b = D(c["budget"])
    return b


def flight(line: dict, p: str) -> list[date]:
    s, e = d(line["start"]), end_at(line, p)
    return [x for x in period_days(p) if s <= x <= e]


METRIC = {"cpm": "impr", "cpc": "clicks", "cpa": "conv"}


UNITS: dict[tuple, object] = {}
for _r in DELIVERY:
    for _m in ("impr", "clicks", "conv"):
        if _r["campaign"] and _r[_m] is not None:
            _k = (_r["campaign"], _r["kind"], _m, _r["date"])
            UNITS[_k] = UNITS.get(_k, 0) + _r[_m]


def units(campaign: str, kind: str, metric: str, day: date):
    """Sum of one metric over a campaign's rows of one source kind on one day (None: no row)."""
    return UNITS.get((campaign, kind, metric, day))


def compute(verbose: bool = False):
    """Returns (documents, per-line results, variances) for all periods."""
    billed_hist: dict[str, Decimal] = {}
    milestones_billed: set = set()
    adjustments_applied: set = set()
    docs, line_res, variances = [], {}, []
    seq = 1
    prev_net: dict[str, Decimal] = {}
    for p in PERIODS:
        days_p = D(len(period_days(p)))
        for c in sorted(CLIENTS, key=lambda c: c["client_id"].encode()):
            cid, ic = c["client_id"], c["currency"]
            out_lines = []
            for line in [l for l in LINES if l["client_id"] == cid]:
                fl = flight(line, p)
                if not fl:
                    continue
                m, cc, lid = line["model"], line["currency"], line["line_id"]
                var = []
                if m in METRIC:
                    basis = line["basis"] or "ad_server"
                    other = "platform" if basis == "ad_server" else "ad_server"
                    gross, sb, so, b_rep, o_rep, outage = D(0), 0, 0, False, False, []
                    for x in fl:
                        bu = units(line["campaign"], basis, METRIC[m], x)
                        ou = units(line["campaign"], other, METRIC[m], x)
                        r = rate_on(line, x, p)
                        if bu is not None:
                            b_rep = True
                            gross += D(bu) * r / (D(1000) if m == "cpm" else D(1))
                            sb += bu
                        if ou is not None:
                            o_rep, so = True, so + ou
                        if ((bu or 0) > 0 and not ou) or ((ou or 0) > 0 and not bu):
                            outage.append(x)
                    if b_rep and o_rep:
                        pct = (abs(D(sb) - D(so)) / D(sb) * 100) if sb else D(100)
                        if pct > 10:
                            var.append(("ad_server_discrepancy", f"{pct:.1f}%"))
                        if outage:
                            var.append(("tracking_outage", ",".join(x.isoformat() for x in outage)))
                    qty = sb
                elif m == "media_pct":
                    gross, qty = D(0), D(0)
                    for r in DELIVERY:
                        if r["campaign"] == line["campaign"] and r["kind"] == "platform" \
                                and r["date"] in fl and r["spend"] is not None:
                            fx = D(1) if r["cur"] == cc else locked_rate(p, r["cur"], cc)
                            gross += r["spend"] * fx * rate_on(line, r["date"], p) / 100
                            qty += r["spend"] * fx
                    qty = qround(qty, MINOR[cc])
                elif m == "hourly":
                    gross, qty = D(0), D(0)
                    for l2, day, who, h, task in TIMESHEETS[p]:
                        if l2 == lid and d(day) in fl:
                            gross += h * rate_on(line, d(day), p)
                            qty += h
                elif m == "flat":
                    gross = rate_on(line, fl[-1], p) * len(fl) / days_p
                    qty = len(fl)
                elif m == "milestone":
                    gross, qty = D(0), 0
                    for l2, mid, desc, amt, acc_on, acc_by, ref in MILESTONES.get(p, []):
                        if l2 == lid and acc_on and period_of(d(acc_on)) == p and acc_by \
                                and (l2, mid) not in milestones_billed:
                            milestones_billed.add((l2, mid))
                            gross += D(amt)
                            qty += 1
                g = qround(gross, MINOR[cc])
                b = budget_at(line, p)
                if b is None:
                    billed = g
                else:
                    remaining = b - billed_hist.get(lid, D(0))
                    billed = max(D(0), min(g, remaining))
                over = g - billed
                billed_hist[lid] = billed_hist.get(lid, D(0)) + billed
                if cc == ic:
                    fx_rate, net = None, billed
                else:
                    fx_rate = locked_rate(p, cc, ic)
                    net = qround(billed * fx_rate, MINOR[ic])
                if over > 0:
                    var.append(("over_delivery", str(over)))
                if b is not None and end_at(line, p) <= period_last(p) \
                        and end_at(line, p) >= period_first(p) \
                        and billed_hist[lid] < b * D("0.9"):
                    var.append(("under_delivery", f"{billed_hist[lid]} of {b}"))
                pn = prev_net.get(lid)
                if pn is not None and pn > 0 and abs(net - pn) / pn * 100 > 50:
                    var.append(("prior_period_change", f"{pn} -> {net}"))
                # fx movement: every locked rate the line uses
                pairs = set()
                if fx_rate is not None:
                    pairs.add((cc, ic))
                if m == "media_pct":
                    pairs |= {(r["cur"], cc) for r in DELIVERY if r["campaign"] == line["campaign"]
                              and r["kind"] == "platform" and r["date"] in fl and r["cur"] != cc}
                i = PERIODS.index(p)
                for frm, to in sorted(pairs):
                    if i > 0:
                        a, bnow = locked_rate(PERIODS[i - 1], frm, to), locked_rate(p, frm, to)
                        if abs(bnow - a) / a * 100 > 5:
                            var.append(("fx_movement", f"{frm}->{to} {a} -> {bnow}"))
                prev_net[lid] = net
                line_res[(p, lid)] = dict(gross=g, billed=billed, over=over, net=net, qty=qty,
                                          fx=fx_rate)
                for cause, detail in var:
                    variances.append((p, cid, lid, cause, detail))
                out_lines.append((lid, net))
            # lines not active in P drop out of the prior-period comparison chain
            for line in [l for l in LINES if l["client_id"] == cid]:
                if not flight(line, p):
                    prev_net.pop(line["line_id"], None)
            adj_rows = []
            for a in ADJUSTMENTS.get(p, []):
                if a["client_id"] == cid and approved(a, p) and a["adjustment_id"] not in adjustments_applied:
                    adjustments_applied.add(a["adjustment_id"])
                    sign = D(1) if a["kind"] == "fee" else D(-1)
                    adj_rows.append((a["adjustment_id"], sign * D(a["amount"])))
            if not out_lines and not adj_rows:
                continue
            subtotal = sum((n for _, n in out_lines), D(0)) + sum((n for _, n in adj_rows), D(0))
            if c["tax_treatment"] == "standard":
                tax = qround(subtotal * D(c["tax_rate"]) / 100, MINOR[ic])
            else:
                tax = D(0)
            total = subtotal + tax
            issue = period_last(p)
            docs.append(dict(number=f"NW-{seq:05d}", client_id=cid, period=p, issue=issue,
                             due=issue + timedelta(days=c["payment_terms_days"]),
                             currency=ic, subtotal=subtotal, tax=tax, total=total,
                             type="invoice" if total >= 0 else "credit_note", paid=D(0)))
            seq += 1
    return docs, line_res, variances


# --- size the computed budgets from the generated delivery ------------------

def total_gross(line_id: str) -> Decimal:
    LINE[line_id]["budget"] = None  # uncapped for sizing
    _, res, _ = compute()
    return sum((res[(p, line_id)]["gross"] for p in PERIODS if (p, line_id) in res), D(0))


def round_to(x: Decimal, step: int, mode) -> Decimal:
    return (x / step).to_integral_value(rounding=mode) * step


# bw-display-cpm: a cap that is never hit, with the line delivering 92-96 % of it
bw_total = total_gross("bw-display-cpm")
LINE["bw-display-cpm"]["budget"] = f"{round_to(bw_total * D('1.05'), 500, ROUND_CEILING):.2f}"
# hel-social-cpm: ends 2026-09-20 well below 90 % of its budget (under-delivery)
hel_total = total_gross("hel-social-cpm")
LINE["hel-social-cpm"]["budget"] = f"{round_to(hel_total / D('0.82'), 1000, ROUND_CEILING):.2f}"
# kumo-video-cpm: 18,000 would cap in September; CO-0016 raises it to a budget that
# still caps in October at ~70 % of October's gross (over-delivery)
CHANGE_ORDERS[2]["budget"] = ""
_k = LINE["kumo-video-cpm"]["budget"]
LINE["kumo-video-cpm"]["budget"] = None
_, _res, _ = compute()
LINE["kumo-video-cpm"]["budget"] = _k
k_aug, k_sep, k_oct = (_res[(p, "kumo-video-cpm")]["gross"] for p in PERIODS)
assert k_aug + k_sep > D("18000"), "kumo: September must need the budget increase"
CHANGE_ORDERS[2]["budget"] = f"{round_to(k_aug + k_sep + k_oct * D('0.7'), 500, ROUND_FLOOR):.2f}"

DOCS, LINE_RES, VARIANCES = compute()
DOC = {(x["period"], x["client_id"]): x for x in DOCS}


def num(p: str, cid: str) -> str:
    return DOC[(p, cid)]["number"]


# --- assert the scenario design holds ---------------------------------------
assert [x["number"] for x in DOCS] == [f"NW-{i:05d}" for i in range(1, 19)]
assert all(x["type"] == "invoice" for x in DOCS)
for i, p in enumerate(PERIODS):
    assert [x["client_id"] for x in DOCS if x["period"] == p] == sorted(CLIENT)
EXPECTED_VARIANCES = {
    ("2026-08", "bw-display-cpm", "ad_server_discrepancy"),
    ("2026-08", "hel-social-cpm", "tracking_outage"),
    ("2026-09", "hel-social-cpm", "under_delivery"),
    ("2026-09", "hel-website", "prior_period_change"),
    ("2026-09", "oak-retainer", "prior_period_change"),
    ("2026-10", "kumo-video-cpm", "over_delivery"),
    ("2026-10", "kumo-video-cpm", "fx_movement"),
}
got = {(p, lid, cause) for p, cid, lid, cause, det in VARIANCES}
assert got == EXPECTED_VARIANCES, sorted(got ^ EXPECTED_VARIANCES)
VAR_DETAIL = {(p, lid, cause): det for p, cid, lid, cause, det in VARIANCES}
assert VAR_DETAIL[("2026-08", "hel-social-cpm", "tracking_outage")] == OUTAGE_DAY.isoformat()


# --- payments (sized from the computed documents) ---------------------------

def half(x: Decimal, cur: str) -> Decimal:
    return qround(x / 2, MINOR[cur])


PAYMENTS = {
    "2026-08": [
        dict(payment_id="PAY-26-0001", client_id="redwood", received_on="2026-08-12",
             amount=round_to(DOC[("2026-08", "redwood")]["total"] + 2500, 1000, ROUND_CEILING),
             currency="USD", reference="Wire: Q3 prepayment per SOW 4.2", invoice_number=""),
    ],
    "2026-09": [
        dict(payment_id="PAY-26-0002", client_id="helios", received_on="2026-09-10",
             amount=half(DOC[("2026-08", "helios")]["total"], "EUR"), currency="EUR",
             reference="SEPA Helios Energie GmbH Teilzahlung", invoice_number=num("2026-08", "helios")),
        dict(payment_id="PAY-26-0003", client_id="brightwater", received_on="2026-09-24",
             amount=DOC[("2026-08", "brightwater")]["total"], currency="GBP",
             reference="BACS BRIGHTWATER FOODS", invoice_number=num("2026-08", "brightwater")),
        dict(payment_id="PAY-26-0004", client_id="alpenrose", received_on="2026-09-28",
             amount=DOC[("2026-08", "alpenrose")]["total"], currency="CHF",
             reference="SIC Alpenrose Uhren AG Rg. August", invoice_number=""),
        dict(payment_id="PAY-26-0005", client_id="oakridge", received_on="2026-09-29",
             amount=DOC[("2026-08", "oakridge")]["total"] + D("250.00"), currency="EUR",
             reference="Oakridge Travel: remitted pro-forma value (overpaid)",
             invoice_number=num("2026-08", "oakridge")),
    ],
    "2026-10": [
        # recorded late: received in September, entered in October's folder
        dict(payment_id="PAY-26-0006", client_id="kumo", received_on="2026-09-29",
             amount=DOC[("2026-08", "kumo")]["total"], currency="JPY",
             reference="Furikomi KUMO SOFTWARE KK (recorded late)",
             invoice_number=num("2026-08", "kumo")),
        dict(payment_id="PAY-26-0007", client_id="helios", received_on="2026-10-06",
             amount=DOC[("2026-08", "helios")]["total"] - half(DOC[("2026-08", "helios")]["total"], "EUR"),
             currency="EUR", reference="SEPA Helios Energie GmbH Restzahlung",
             invoice_number=num("2026-08", "helios")),
        dict(payment_id="PAY-26-0008", client_id="redwood", received_on="2026-10-20",
             amount=D("10000.00"), currency="USD", reference="Wire: on account", invoice_number=""),
        dict(payment_id="PAY-26-0009", client_id="oakridge", received_on="2026-10-27",
             amount=DOC[("2026-09", "oakridge")]["total"] - D("250.00"), currency="EUR",
             reference="Oakridge Travel: balance of September invoice",
             invoice_number=num("2026-09", "oakridge")),
        dict(payment_id="PAY-26-0010", client_id="brightwater", received_on="2026-10-29",
             amount=DOC[("2026-09", "brightwater")]["total"], currency="GBP",
             reference="BACS BRIGHTWATER FOODS", invoice_number=""),
    ],
}


def apply_payments():
    """rules.md §9; returns statuses at the end of each period and the payment log."""
    credit = {c: D(0) for c in CLIENT}
    log, status = [], {}

    def open_docs(cid):
        return sorted([x for x in DOCS if x["client_id"] == cid and x["issue"] <= cur_last
                       and x["type"] == "invoice" and x["total"] - x["paid"] > 0],
                      key=lambda x: (x["issue"], x["number"]))

    for p in PERIODS:
        cur_last = period_last(p)
        for cid in sorted(CLIENT):  # account credit goes to the open invoices first
            for x in open_docs(cid):
                a = min(credit[cid], x["total"] - x["paid"])
                x["paid"] += a
                credit[cid] -= a
        for pay in sorted(PAYMENTS[p], key=lambda y: (y["received_on"], y["payment_id"])):
            cid, rem, applied = pay["client_id"], D(pay["amount"]), []
            if pay["invoice_number"]:
                x = next(x for x in DOCS if x["number"] == pay["invoice_number"])
                assert x["client_id"] == cid and x["issue"] <= cur_last
                a = min(rem, x["total"] - x["paid"])
                x["paid"] += a
                rem -= a
                applied.append((x["number"], a))
            else:
                exact = [x for x in open_docs(cid) if x["total"] - x["paid"] == rem]
                if exact:
                    exact[0]["paid"] += rem
                    applied.append((exact[0]["number"], rem))
                    rem = D(0)
            for x in open_docs(cid):
                if rem <= 0:
                    break
                a = min(rem, x["total"] - x["paid"])
                x["paid"] += a
                rem -= a
                applied.append((x["number"], a))
            credit[cid] += rem
            log.append((p, pay["payment_id"], applied, rem))
        for x in DOCS:
            if x["issue"] <= cur_last:
                bal = x["total"] - x["paid"]
                if bal == 0:
                    st = "paid"
                elif cur_last > x["due"]:
                    st = f"overdue {(cur_last - x['due']).days}d"
                elif x["paid"] > 0:
                    st = "partially_paid"
                else:
                    st = "open"
                status[(p, x["number"])] = (st, bal)
        status[(p, "credit")] = dict(credit)
    return status, log


STATUS, PAYLOG = apply_payments()
# the designed outcomes
assert STATUS[("2026-08", "credit")]["redwood"] > 0                  # prepayment -> account credit
assert STATUS[("2026-09", num("2026-08", "alpenrose"))][0] == "paid"  # exact-amount match
assert STATUS[("2026-09", num("2026-08", "helios"))][0].startswith("overdue")
assert STATUS[("2026-09", num("2026-09", "oakridge"))][0] == "partially_paid"  # overpayment spill
assert STATUS[("2026-10", num("2026-08", "kumo"))][0] == "paid"
assert STATUS[("2026-10", num("2026-09", "brightwater"))][0] == "paid"
assert STATUS[("2026-10", num("2026-09", "alpenrose"))][0].startswith("overdue")


# ---------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------

def fmt_dec(x: Decimal) -> str:
    """Plain decimal without trailing zeros: 1.50 -> 1.5, 2.00 -> 2."""
    return format(x.normalize(), "f")


def write_toml():
    t = f'''# tallyseal demo project: Northwind Media Ltd.
# Generated by scripts/make_sample_data.py. Do not edit by hand: change the script.

[agency]
name = "{AGENCY['name']}"
address = "{AGENCY['address']}"
country = "{AGENCY['country']}"
tax_id = "{AGENCY['tax_id']}"
email = "{AGENCY['email']}"

[invoice]
number_format = "NW-{{seq:05}}"
first_number = 1
rounding = "half_up"

[tolerances]
discrepancy_pct = 10
prior_period_pct = 50
underdelivery_pct = 10
fx_movement_pct = 5

[signing]
key_file = "keys/demo-agency.pem"   # DEMO key, published on purpose: see keys/README.md

# Google Ads (MCC campaign report, several accounts and currencies): a two-line
# preamble, "Total: ..." rows at the end, numbers with thousands separators.
[[source]]
name = "google_ads"
files = "exports/google_ads*.csv"
kind = "platform"
skip_rows = 2
footer_prefix = "Total"
thousands_separator = ","

[source.columns]
campaign = "Campaign ID"
date = "Day"
impressions = "Impr."
clicks = "Clicks"
conversions = "Conversions"
spend = "Cost"
currency = "Currency code"

# Meta Ads Manager export, one row per ad and day, CRLF line ends, ad account in USD.
[[source]]
name = "meta"
files = "exports/meta*.csv"
kind = "platform"
grain = ["Ad ID"]
currency = "USD"

[source.columns]
campaign = "Campaign ID"
date = "Reporting starts"
impressions = "Impressions"
clicks = "Link clicks"
conversions = "Results"
spend = "Amount spent (USD)"

# Campaign Manager 360 (third-party ad server), one row per placement and day, no spend.
[[source]]
name = "cm360"
files = "exports/cm360*.csv"
kind = "ad_server"
grain = ["Placement ID"]

[source.columns]
campaign = "Campaign ID"
date = "Date"
impressions = "Impressions"
clicks = "Clicks"
conversions = "Total Conversions"
'''
    write("tallyseal.toml", t)


def write_master():
    doc = CsvDoc()
    cols = ["client_id", "name", "address", "country", "currency", "tax_id", "tax_treatment",
            "tax_rate", "payment_terms_days", "email"]
    doc.row(cols)
    at = {}
    for c in CLIENTS:
        at[c["client_id"]] = doc.row([c[k] for k in cols])
    write("clients.csv", doc.text())
    scenario("Client address with quoted embedded newlines; UTF-8 (Zürich, 東京都)",
             f"`clients.csv` line {at['alpenrose']} (alpenrose), line {at['kumo']} (kumo)")
    scenario("Tax treatments: standard 20 / 8.1 / 10, reverse_charge (with tax_id), exempt",
             "`clients.csv`: brightwater, oakridge (20), alpenrose (8.1), kumo (10), helios (reverse_charge), redwood (exempt)")

    doc = CsvDoc()
    cols = ["line_id", "client_id", "campaign", "description", "model", "rate", "currency",
            "budget", "start", "end", "basis", "po_number"]
    doc.row(cols)
    for l in LINES:
        at[l["line_id"]] = doc.row([l[k] if l[k] is not None else "" for k in cols])
    write("contracts.csv", doc.text())
    L = lambda lid: f"line {at[lid]} `{lid}`"
    scenario("Every pricing model", "`contracts.csv`: cpm " + L("bw-display-cpm") + ", cpc " + L("alp-search-cpc")
             + ", cpa " + L("oak-search-cpa") + ", media_pct " + L("bw-display-fee") + ", flat "
             + L("rw-reporting") + ", hourly " + L("alp-strategy-hours") + ", milestone " + L("hel-website"))
    scenario("Flat line starting mid-period (prorated 14/31 in 2026-08)", "`contracts.csv` " + L("oak-retainer"))
    scenario("Lines whose flight ends mid-period (2026-09-20)",
             "`contracts.csv` " + L("hel-social-cpm") + ", " + L("hel-social-fee"))
    scenario("Contract currency differs from invoice currency",
             f"`contracts.csv` {L('kumo-video-cpm')} (USD→JPY), {L('rw-reporting')} (GBP→USD), {L('alp-strategy-hours')} (EUR→CHF)")
    scenario("media_pct on spend in another currency (Meta USD spend, EUR contract)",
             "`contracts.csv` " + L("hel-social-fee"))
    scenario("basis = platform / explicit ad_server / blank (ad_server)",
             "`alp-search-cpc`, `oak-search-cpa`, `rw-prospecting-cpa` / `kumo-video-cpm` / `bw-display-cpm`, `hel-social-cpm`")
    scenario("Media line and fee line sharing one campaign",
             "`bw-display-cpm` + `bw-display-fee` (bw-autumn-display); `hel-social-cpm` + `hel-social-fee` (hel-launch-social)")

    doc = CsvDoc()
    doc.row(["source", "source_campaign_id", "campaign"])
    for s, i, c in CROSSWALK:
        doc.row([s, i, c])
    write("crosswalk.csv", doc.text())
    scenario("Several source ids → one campaign; ad-server ids differ from platform ids",
             "`crosswalk.csv`: google_ads 20871001+20871002 → alp-search; cm360 31500421+31500422 and google_ads 20871310+20871311 → bw-autumn-display")


def google_export(p: str) -> tuple[str, dict]:
    doc = CsvDoc()
    first, last = period_first(p), period_last(p)
    doc.raw("Campaign report\n")
    names = ["", "January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]
    doc.raw(f'"{names[first.month]} {first.day}, {first.year} - {names[last.month]} {last.day}, {last.year}"\n')
    doc.row(["Campaign", "Campaign ID", "Day", "Currency code", "Impr.", "Clicks", "Avg. CPC",
             "Cost", "Conversions"])
    rows = sorted([r for r in google_rows if period_of(r["date"]) == p],
                  key=lambda r: (r["cid"], r["date"]))
    marks = {}
    for r in rows:
        pl = MINOR[r["cur"]]
        cpc = "--" if r["clicks"] == 0 else f"{qround(r['cost'] / r['clicks'], pl):.{pl}f}"
        line = doc.row([r["name"], r["cid"], r["date"].isoformat(), r["cur"], thousands(r["impr"]),
                        thousands(r["clicks"]), cpc, thousands(r["cost"], pl),
                        f"{r['conv']:.2f}"])
        marks.setdefault(("cid", r["cid"]), []).append(line)
        marks[(r["cid"], r["date"])] = line
        if r["cost"] >= 1000 and pl == 2:
            marks.setdefault("big_cost", line)
    ti = sum(r["impr"] for r in rows)
    tc = sum(r["clicks"] for r in rows)
    tv = sum((r["conv"] for r in rows), D(0))
    marks["total"] = doc.row(["Total: Campaigns", "--", "--", "--", thousands(ti), thousands(tc),
                              "--", "--", f"{tv:,.2f}"])
    doc.row(["Total: Account", "--", "--", "--", thousands(ti), thousands(tc), "--", "--",
             f"{tv:,.2f}"])
    return doc.text(), marks


def meta_export(p: str) -> tuple[str, dict]:
    doc = CsvDoc("\r\n")
    doc.row(["Reporting starts", "Reporting ends", "Campaign name", "Campaign ID", "Ad name",
             "Ad ID", "Impressions", "Link clicks", "Results", "Result indicator",
             "Amount spent (USD)"])
    marks = {}
    for r in [r for r in meta_rows if period_of(r["date"]) == p]:
        ind = ("actions:offsite_conversion.fb_pixel_purchase" if r["cid"].startswith("1202088774")
               else "actions:offsite_conversion.fb_pixel_lead")
        line = doc.row([r["date"].isoformat(), r["date"].isoformat(), r["cname"], r["cid"],
                        r["ad_name"], r["ad_id"], r["impr"], r["clicks"], r["results"], ind,
                        f"{r['spend']:.2f}"])
        if "\n" in r["ad_name"]:
            marks.setdefault("newline", line)
        if "," in r["ad_name"]:
            marks.setdefault("comma", line)
        marks.setdefault(("date", r["cid"], r["date"]), line)
    return doc.text(), marks


def cm360_export(p: str) -> tuple[str, dict]:
    doc = CsvDoc()
    doc.row(["Date", "Advertiser", "Campaign", "Campaign ID", "Placement", "Placement ID",
             "Impressions", "Clicks", "Total Conversions"])
    rows = [r for r in cm_rows if period_of(r["date"]) == p]
    marks = {}
    dup = None
    if p == period_of(DUP_DAY):
        dup = next(r for r in rows if r["date"] == DUP_DAY and r["cid"] == "31500421")
    for i, r in enumerate(rows):
        cells = [r["date"].isoformat(), r["advertiser"], r["cname"], r["cid"], r["pname"],
                 r["pid"], r["impr"], r["clicks"], r["conv"]]
        line = doc.row(cells)
        if r is dup:
            marks["dup_first"] = line
        marks.setdefault((r["cid"], r["date"]), line)
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if dup is not None and r["date"] == DUP_DAY and (nxt is None or nxt["date"] != DUP_DAY):
            # the page boundary of a paged download repeated one row
            marks["dup_second"] = doc.row([dup["date"].isoformat(), dup["advertiser"], dup["cname"],
                                           dup["cid"], dup["pname"], dup["pid"], dup["impr"],
                                           dup["clicks"], dup["conv"]])
    return doc.text(), marks


def write_exports():
    nrows = 0
    for p in PERIODS:
        g, gm = google_export(p)
        write(f"periods/{p}/exports/google_ads_{p}.csv", g)
        m, mm = meta_export(p)
        write(f"periods/{p}/exports/meta_{p}.csv", m)
        c, cmk = cm360_export(p)
        write(f"periods/{p}/exports/cm360_{p}.csv", c)
        nrows += sum(1 for r in google_rows if period_of(r["date"]) == p)
        nrows += sum(1 for r in meta_rows if period_of(r["date"]) == p)
        nrows += sum(1 for r in cm_rows if period_of(r["date"]) == p) + ("dup_second" in cmk)
        if p == "2026-08":
            scenario("Google Ads export: 2-line preamble (skip_rows = 2), `Total: ...` footer rows, quoted thousands separators, unmapped columns `Campaign`, `Avg. CPC`",
                     f"`periods/2026-08/exports/google_ads_2026-08.csv` lines 1-2 (preamble), line 3 (header), line {gm['total']}-{gm['total'] + 1} (totals), e.g. line {gm['big_cost']} (cost ≥ 1,000 with decimals)")
            scenario("Unmapped campaign id (not in crosswalk): google_ads 20871999 `NW | Internal test`",
                     f"`periods/2026-08/exports/google_ads_2026-08.csv` lines {', '.join(map(str, gm[('cid', '20871999')]))}; also `periods/2026-10/exports/google_ads_2026-10.csv`")
            scenario("Out of flight, before start: bw-autumn-display tag test 2026-08-01..03 (lines start 2026-08-04)",
                     f"`periods/2026-08/exports/google_ads_2026-08.csv` lines {gm[('20871310', d('2026-08-01'))]}-{gm[('20871310', d('2026-08-03'))]}; `periods/2026-08/exports/cm360_2026-08.csv` line {cmk[('31500421', d('2026-08-01'))]} ff. (placements of 31500421 on 08-01..08-03)")
            scenario("Meta export: CRLF line ends, fixed `currency = \"USD\"`, ad-level grain; quoted cell with a comma and one with an embedded newline",
                     f"`periods/2026-08/exports/meta_2026-08.csv` line {mm['comma']} (`Heat pump hero, v2`), line {mm['newline']} (`Carousel – Berlin` / `(story cut)`)")
            scenario("Identical duplicate delivery row (counted once, reported)",
                     f"`periods/2026-08/exports/cm360_2026-08.csv` lines {cmk['dup_first']} and {cmk['dup_second']} (31500421 / placement 402118811 / {DUP_DAY})")
            scenario("Tracking outage: CM360 has no Helios row on 2026-08-14 while Meta reports impressions",
                     f"`periods/2026-08/exports/meta_2026-08.csv` from line {mm[('date', '120208811230001', OUTAGE_DAY)]}; absent from `periods/2026-08/exports/cm360_2026-08.csv`")
            scenario("Platform vs ad-server discrepancy > 10 % on a cpm line (Google Ads above CM360)",
                     f"`bw-display-cpm` in 2026-08: {VAR_DETAIL[('2026-08', 'bw-display-cpm', 'ad_server_discrepancy')]} over the flight; CM360 rows of 31500421/31500422 vs google_ads 20871310/20871311")
        if p == "2026-09":
            scenario("Out of flight, after end: Helios ads kept running 2026-09-21..22 (lines end 2026-09-20)",
                     f"`periods/2026-09/exports/meta_2026-09.csv` from line {mm[('date', '120208811230001', d('2026-09-21'))]}; `periods/2026-09/exports/cm360_2026-09.csv` from line {cmk[('31500577', d('2026-09-21'))]}")
        if p == "2026-10":
            scenario("Campaign in flight only thanks to an approved end-date extension (CO-0015)",
                     f"`periods/2026-10/exports/google_ads_2026-10.csv` lines {gm[('cid', '20871740')][0]}-{gm[('cid', '20871740')][-1]} (oak-autumn-search)")
    assert 2000 <= nrows <= 6000, nrows
    return nrows


def write_fx():
    for p in PERIODS:
        doc = CsvDoc()
        doc.row(["as_of", "from", "to", "rate", "source"])
        for row in FX[p]:
            doc.row(row)
        write(f"periods/{p}/fx.csv", doc.text())
    scenario("FX pair moving > 5 % between periods (USD→JPY 148.05 → 156.73, +5.9 %)",
             "`periods/2026-09/fx.csv`, `periods/2026-10/fx.csv`; used by `kumo-video-cpm`")
    scenario("Locked rate = latest as_of on or before P.last (an older row is ignored)",
             "`periods/2026-08/fx.csv` EUR→CHF 2026-08-14 vs 2026-08-31; `periods/2026-10/fx.csv` USD→JPY 2026-10-15 vs 2026-10-30")
    scenario("Same (as_of, from, to) twice with the same rate (accepted; first source shown)",
             "`periods/2026-09/fx.csv` lines 5-6 (GBP→USD)")


def write_change_orders():
    cols = ["change_id", "line_id", "effective_from", "rate", "budget", "end", "requested_by",
            "approved_by", "approved_at", "reference"]
    for p in PERIODS:
        rows = [c for c in CHANGE_ORDERS if c["period"] == p]
        if not rows:
            continue
        doc = CsvDoc()
        doc.row(cols)
        at = {c["change_id"]: doc.row([c[k] for k in cols]) for c in rows}
        write(f"periods/{p}/change_orders.csv", doc.text())
        for c in rows:
            where = f"`periods/{p}/change_orders.csv` line {at[c['change_id']]} `{c['change_id']}`"
            what = {
                "CO-0014": "Approved mid-period rate change 6.50 → 7.10 from 2026-09-16 (rate segments in 2026-09)",
                "CO-0015": "Approved end-date extension of `oak-search-cpa` to 2026-10-31",
                "CO-0016": f"Approved budget increase of `kumo-video-cpm` 18,000 → {c['budget']} USD",
                "CO-0021": "Pending change order (approved_by blank): not applied",
                "CO-0022": "Separation-of-duties violation (approved_by == requested_by): not applied, fails `approvals`",
            }[c["change_id"]]
            scenario(what, where)


def write_milestones():
    for p in PERIODS:
        doc = CsvDoc()
        doc.row(["line_id", "milestone_id", "description", "amount", "accepted_on", "accepted_by",
                 "acceptance_ref"])
        at = {r[1]: doc.row(r) for r in MILESTONES[p]}
        write(f"periods/{p}/milestones.csv", doc.text())
        if p == "2026-08":
            scenario("Milestone accepted and billed (M1, EUR 6,500)", f"`periods/2026-08/milestones.csv` line {at['M1']}")
        if p == "2026-09":
            scenario("Milestone pending, blank accepted_by (M2); M1 listed again = already billed",
                     f"`periods/2026-09/milestones.csv` lines {at['M1']}, {at['M2']}")
        if p == "2026-10":
            scenario("Milestone accepted in a later period (M2, accepted 2026-10-08, billed in 2026-10); M3 pending (accepted_on set, accepted_by blank)",
                     f"`periods/2026-10/milestones.csv` lines {at['M2']}, {at['M3']}")


def write_timesheets():
    for p in PERIODS:
        doc = CsvDoc()
        doc.row(["line_id", "date", "person", "hours", "description"])
        for line_id, day, who, h, task in TIMESHEETS[p]:
            doc.row([line_id, day, who, fmt_dec(h), task])
        write(f"periods/{p}/timesheets.csv", doc.text())
    scenario("Timesheets on hourly lines (several people, decimal hours 0.5 / 0.75 / 1.5 ...)",
             "`periods/*/timesheets.csv` (`alp-strategy-hours` EUR→CHF, `kumo-localisation` JPY)")


def write_adjustments():
    cols = ["adjustment_id", "client_id", "line_id", "kind", "amount", "currency", "reason",
            "description", "requested_by", "approved_by", "approved_at", "evidence",
            "invoice_number"]
    for p in PERIODS:
        doc = CsvDoc()
        doc.row(cols)
        at = {a["adjustment_id"]: doc.row([a[k] for k in cols]) for a in ADJUSTMENTS[p]}
        write(f"periods/{p}/adjustments.csv", doc.text())
        w = lambda i: f"`periods/{p}/adjustments.csv` line {at[i]} `{i}`"
        if p == "2026-08":
            scenario("make_good, reason tracking_outage (also explains the outage variance)", w("ADJ-0801"))
        if p == "2026-09":
            scenario(f"credit naming an earlier invoice of the same client ({num('2026-08', 'brightwater')})", w("ADJ-0901"))
            scenario("fee (JPY, no decimals)", w("ADJ-0902"))
            scenario("Pending adjustment (approved_by blank) ...", w("ADJ-0903"))
        if p == "2026-10":
            scenario("... listed again with the same id and approved: applied in 2026-10", w("ADJ-0903"))
            scenario("fee with an https evidence URL", w("ADJ-1001"))


def write_variances():
    bw_pct = VAR_DETAIL[("2026-08", "bw-display-cpm", "ad_server_discrepancy")]
    hel_billed = sum((LINE_RES[(q, "hel-social-cpm")]["billed"] for q in ("2026-08", "2026-09")), D(0))
    rows = {
        "2026-08": [
            ("brightwater", "bw-display-cpm", "ad_server_discrepancy",
             f"**Google Ads counted {bw_pct} more impressions than CM360** over the August flight.\n\n"
             "- Cause: Google's display network counts impressions on render, CM360 on a viewable "
             "tag fire; the new 320x50 mobile placements lost ~10 % to ad blockers.\n"
             "- Billing follows the contract basis (**CM360**), so you pay for verified impressions only.\n"
             "- Fixed on 2026-09-01 by moving the tag to the creative wrapper.",
             "discrepancy/bw-cm360-vs-google-2026-08.png", "m.lindqvist"),
            ("helios", "hel-social-cpm", "tracking_outage",
             "CM360 did not record the Helios placements on **14 August 2026** (tag outage, "
             "see the [incident report](https://status.northwind.example/incidents/2026-08-14-cm360)). "
             "Impressions of that day are *not billed*; a make-good of EUR 250.00 (ADJ-0801) covers the lost attribution data.",
             "outage/cm360-incident-2026-08-14.txt", "m.lindqvist"),
        ],
        "2026-09": [
            ("helios", "hel-social-cpm", "under_delivery",
             f"The launch flight ended on 20 September with EUR {hel_billed:,} "
             f"billed against a budget of EUR {D(LINE['hel-social-cpm']['budget']):,}. Two creatives were approved "
             "three weeks late (creative delay), and the client chose not to extend the flight.",
             "underdelivery/hel-creative-approval-log.txt", "m.lindqvist"),
            ("helios", "hel-website", "prior_period_change",
             "Milestone billing: M1 was accepted and billed in August; M2 (visual design system) "
             "is still awaiting acceptance, so nothing is billed on this line in September.",
             "", "m.lindqvist"),
            ("oakridge", "oak-retainer", "prior_period_change",
             "The retainer started on 18 August and August was prorated (14/31 days); "
             "September is the first full month.", "", ""),
        ],
        "2026-10": [
            ("kumo", "kumo-video-cpm", "fx_movement",
             "USD→JPY moved from 148.05 (30 Sep) to **156.73** (30 Oct), +5.9 %. The contract is in USD; "
             "the invoice converts at the locked month-end rate as agreed in the IO.",
             "https://www.bankofengland.co.uk/boeapps/database/", "m.lindqvist"),
        ],
    }
    for p in PERIODS:
        doc = CsvDoc()
        doc.row(["client_id", "line_id", "cause", "explanation", "evidence", "approved_by"])
        for r in rows[p]:
            line = doc.row(r)
            md = " (Markdown)" if ("**" in r[3] or "](" in r[3]) else ""
            scenario(f"Variance explanation `{r[2]}` on `{r[1]}`{md}",
                     f"`periods/{p}/variances.csv` line {line}")
        write(f"periods/{p}/variances.csv", doc.text())


def write_payments():
    cols = ["payment_id", "client_id", "received_on", "amount", "currency", "reference",
            "invoice_number"]
    what = {
        "PAY-26-0001": "Prepayment before the first invoice: covers NW-00006, rest becomes account credit (applied to NW-00012 at the start of 2026-09)",
        "PAY-26-0002": "Partial payment with invoice_number (helios NW-00003 half); NW-00003 overdue at 2026-09-30",
        "PAY-26-0003": "Payment with invoice_number, exact amount",
        "PAY-26-0004": "Payment without invoice_number matching one open invoice's balance exactly (NW-00001)",
        "PAY-26-0005": "Overpayment: EUR 250.00 more than NW-00005; the excess goes to the next open invoice (NW-00011)",
        "PAY-26-0006": "Recorded late: received 2026-09-29, listed in 2026-10 (applied in 2026-10)",
        "PAY-26-0007": "Remaining balance of NW-00003",
        "PAY-26-0008": "Round amount on account, no invoice_number: oldest first",
        "PAY-26-0009": "Balance of NW-00011 after the overpayment spill",
        "PAY-26-0010": "Exact amount without invoice_number (NW-00008)",
    }
    for p in PERIODS:
        doc = CsvDoc()
        doc.row(cols)
        for y in PAYMENTS[p]:
            cur = y["currency"]
            assert y["currency"] == CLIENT[y["client_id"]]["currency"]
            line = doc.row([y["payment_id"], y["client_id"], y["received_on"], money(D(y["amount"]), cur),
                            cur, y["reference"], y["invoice_number"]])
            scenario(what[y["payment_id"]], f"`periods/{p}/payments.csv` line {line} `{y['payment_id']}`")
        write(f"periods/{p}/payments.csv", doc.text())


def write_checklists():
    rows = {
        "2026-08": [
            ("*", "Platform invoices (Google Ads, Meta) matched to exported spend", "Ad operations", "done", "r.patel", "2026-08-31", ""),
            ("*", "Signed IO / SOW and PO on file for every billed line", "Account management", "done", "l.moreau", "2026-08-31", ""),
            ("brightwater", "CM360 vs Google Ads discrepancy reviewed with the client", "Ad operations", "done", "r.patel", "2026-08-31", "discrepancy/bw-cm360-vs-google-2026-08.png"),
            ("helios", "VAT ID verified on VIES (reverse charge)", "Finance", "done", "a.green", "2026-08-31", "https://ec.europa.eu/taxation_customs/vies/"),
            ("kumo", "Qualified-invoice (JCT) registration number on file", "Finance", "done", "a.green", "2026-08-31", ""),
            ("redwood", "US sales-tax nexus review", "Finance", "n/a", "a.green", "2026-08-31", ""),
        ],
        "2026-09": [
            ("*", "Platform invoices (Google Ads, Meta) matched to exported spend", "Ad operations", "done", "r.patel", "2026-09-30", ""),
            ("*", "Signed IO / SOW and PO on file for every billed line", "Account management", "done", "l.moreau", "2026-09-30", ""),
            ("brightwater", "Revised PO received for the Q4 rate (CO-0014)", "Account management", "pending", "", "", ""),
            ("oakridge", "Client e-mail approving the flight extension filed (CO-0015)", "Account management", "done", "l.moreau", "2026-09-30", ""),
            ("helios", "Milestone M2 acceptance chased", "Project management", "pending", "", "", ""),
            ("redwood", "US sales-tax nexus review", "Finance", "n/a", "a.green", "2026-09-30", ""),
        ],
        "2026-10": [
            ("*", "Platform invoices (Google Ads, Meta) matched to exported spend", "Ad operations", "done", "r.patel", "2026-10-31", ""),
            ("*", "Signed IO / SOW and PO on file for every billed line", "Account management", "pending", "", "", ""),
            ("kumo", "Budget cap reached: client informed of the over-delivery (not billed)", "Ad operations", "done", "y.tanaka", "2026-10-30", "screenshots/kumo-budget-pacing-2026-10.png"),
            ("alpenrose", "Tracking setup quote countersigned", "Account management", "done", "p.natarajan", "2026-10-12", "fees/alp-tracking-setup-quote.txt"),
            ("redwood", "US sales-tax nexus review", "Finance", "n/a", "a.green", "2026-10-31", ""),
        ],
    }
    for p in PERIODS:
        doc = CsvDoc()
        doc.row(["client_id", "step", "owner", "status", "signed_off_by", "signed_off_at", "evidence"])
        for r in rows[p]:
            doc.row(r)
        write(f"periods/{p}/checklist.csv", doc.text())
    scenario("Manual checklist steps: `*` rows for every client; `done`, `pending`, `n/a`",
             "`periods/*/checklist.csv` (pending: 2026-09 lines 4 and 6, 2026-10 line 3; n/a: redwood)")


# --- attachments ---------------------------------------------------------------

def png(width: int, height: int, pixel) -> bytes:
    raw = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width))
                   for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def bar_chart(a: list[int], b: list[int]) -> bytes:
    """Tiny chart: pairs of bars (grey = Google Ads, blue = CM360) per day."""
    n, h = len(a), 40
    top = max(a + b)
    width = n * 3 + 1

    def pixel(x, y):
        i, k = divmod(x, 3)
        if i >= n or k == 2:
            return (255, 255, 255)
        v = a[i] if k == 0 else b[i]
        if h - 1 - y < v * (h - 2) / top:
            return (150, 150, 150) if k == 0 else (31, 100, 200)
        return (255, 255, 255)

    return png(width, h, pixel)


def pdf(lines: list[str]) -> bytes:
    """A minimal, valid one-page PDF with a few lines of Helvetica text."""
    def esc(s):
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    text = "BT /F1 11 Tf 56 780 Td 14 TL " + " ".join(f"({esc(s)}) '" for s in lines) + " ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text.encode("latin-1")) + text.encode("latin-1") + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def write_attachments():
    aug = [x for x in period_days("2026-08") if x >= d("2026-08-04")]
    g = [sum(r["impr"] for r in google_rows if r["date"] == x and r["cid"] in ("20871310", "20871311")) // 1000 for x in aug]
    c = [sum(r["impr"] for r in cm_rows if r["date"] == x and r["cid"] in ("31500421", "31500422")) // 1000 for x in aug]
    write("periods/2026-08/attachments/discrepancy/bw-cm360-vs-google-2026-08.png", bar_chart(g, c), binary=True)
    write("periods/2026-08/attachments/outage/cm360-incident-2026-08-14.txt",
          "Campaign Manager 360 - incident summary (Northwind Media ad operations)\n"
          "Incident: NW-INC-2026-0814\n"
          "Affected: Helios Energie placements 402207701-402207704 (CM360 campaign 31500577)\n"
          "Window:   2026-08-14 00:00 to 23:59 Europe/Berlin\n"
          "Cause:    impression tag removed from the Meta ad template during a creative swap;\n"
          "          Meta kept serving, CM360 recorded nothing.\n"
          "Fix:      tag restored 2026-08-15 07:40; verified with a test impression.\n"
          "Billing:  the day is not billed (contract basis = CM360); make-good ADJ-0801.\n")
    write("periods/2026-09/attachments/credits/google-ads-invalid-activity-credit-2026-08.pdf",
          pdf(["Google Ads - Invalid activity adjustment (demo document)",
               "Account: Brightwater Foods (GBP)",
               "Service period: 2026-08-01 to 2026-08-31",
               "Campaigns: BW | Autumn Display | Prospecting, Remarketing",
               "Invalid activity credit: GBP 803.33",
               "Northwind trading fee credited back: 12% = GBP 96.40 (ADJ-0901)"]), binary=True)
    write("periods/2026-09/attachments/fees/kumo-rush-surcharge-approval.txt",
          "From: Aiko Sato <marketing@kumo-software.example>\n"
          "To: Yui Tanaka <y.tanaka@northwind.example>\n"
          "Date: 2026-09-19\n"
          "Subject: Re: weekend subtitles for launch\n\n"
          "Approved: weekend turnaround for the launch subtitles, surcharge JPY 45,000.\n")
    write("periods/2026-09/attachments/underdelivery/hel-creative-approval-log.txt",
          "Helios launch - creative approval log\n"
          "2026-08-03  Static B submitted        approved 2026-08-11\n"
          "2026-08-05  Offer ends soon submitted approved 2026-08-29 (legal review)\n"
          "2026-09-08  Flight extension offered; declined by client 2026-09-12\n")
    email = ("From: Sinead Keane <finance@oakridgetravel.example>\n"
             "To: Lea Moreau <l.moreau@northwind.example>\n"
             "Date: 2026-09-22\n"
             "Subject: September content calendar\n\n"
             "The September calendar arrived on the 10th instead of the 1st.\n"
             "Lea offered a EUR 150.00 goodwill credit; we accept.\n")
    write("periods/2026-09/attachments/adjustments/oak-content-delay-2026-09.txt", email)
    write("periods/2026-10/attachments/adjustments/oak-content-delay-2026-09.txt", email)
    write("periods/2026-10/attachments/fees/alp-tracking-setup-quote.txt",
          "Quote ALP-2026-Q-019 (Northwind Media Ltd)\n"
          "Server-side conversion tracking setup for Alpenrose Uhren AG\n"
          "One-off fee: CHF 350.00 excl. VAT\n"
          "Countersigned: M. Huber, Alpenrose Uhren AG, 2026-10-12\n")
    # cumulative CM360 impressions in October (grey) against the impressions the
    # remaining budget buys (blue): the grey bars cross the cap around day 22
    oct_days = period_days("2026-10")
    remaining = LINE_RES[("2026-10", "kumo-video-cpm")]["billed"]
    cap = int(remaining / D(LINE["kumo-video-cpm"]["rate"]) * 1000) // 10000
    cum, s = [], 0
    for x in oct_days:
        s += sum(r["impr"] for r in cm_rows if r["date"] == x and r["cid"] == "31500610")
        cum.append(s // 10000)
    write("periods/2026-10/attachments/screenshots/kumo-budget-pacing-2026-10.png",
          bar_chart(cum, [cap] * len(oct_days)), binary=True)
    scenario("Attachments referenced by `evidence` cells (PNG, PDF, TXT)",
             "`periods/*/attachments/**`")


def write_notes():
    # weekly table for Brightwater (August)
    weeks = {}
    for x in period_days("2026-08"):
        if x < d("2026-08-04"):
            continue
        wk = x.isocalendar()[1]
        gi = sum(r["impr"] for r in google_rows if r["date"] == x and r["cid"] in ("20871310", "20871311"))
        ci = sum(r["impr"] for r in cm_rows if r["date"] == x and r["cid"] in ("31500421", "31500422"))
        w = weeks.setdefault(wk, [x, x, 0, 0])
        w[1] = x
        w[2] += gi
        w[3] += ci
    table = "\n".join(f"| {a:%d %b}–{b:%d %b} | {gi:,} | {ci:,} | {(gi - ci) / ci * 100:.1f} % |"
                      for a, b, gi, ci in weeks.values())
    write("periods/2026-08/notes/brightwater.md",
          "# August 2026: autumn display launch\n\n"
          "The campaign went live on **4 August** after a three-day tag test (1–3 August, not billed).\n\n"
          "- Billing basis: CM360 impressions (contract basis), £6.50 per 1,000.\n"
          "- Google Ads counted more impressions than CM360 this month; see the variance note.\n"
          "- The trading fee is 12% of Google Ads media spend.\n\n"
          "| Week | Google Ads impressions | CM360 impressions | Difference |\n"
          "| --- | ---: | ---: | ---: |\n" + table + "\n\n"
          "Background reading: [IAB/MRC guidance on impression measurement]"
          "(https://www.iab.com/guidelines/iab-measurement-guidelines/).\n")
    write("periods/2026-08/notes/helios.md",
          "# August 2026\n\n"
          "## Launch campaign\n\n"
          "1. Eight ads across Awareness and Retargeting went live on 1 August.\n"
          "2. One tracking outage on **14 August**: not billed, make-good applied.\n\n"
          "## Website relaunch\n\n"
          "| Milestone | Amount | Status |\n| --- | ---: | --- |\n"
          "| M1 Discovery and UX wireframes | €6,500.00 | accepted 27 Aug, billed |\n"
          "| M2 Visual design system | €8,000.00 | in progress |\n"
          "| M3 Build, QA and launch | €9,500.00 | planned |\n\n"
          "Reverse charge applies; our VAT details are on the invoice. "
          "Questions: [billing@northwind.example](mailto:billing@northwind.example).\n")
    write("periods/2026-09/notes/oakridge.md",
          "# September 2026\n\n"
          "- First full month of the SEO and content retainer.\n"
          "- Search flight **extended to 31 October** (change order CO-0015, approved 24 September).\n"
          "- Goodwill credit for the late content calendar is awaiting internal approval.\n\n"
          "| Item | Status |\n| --- | --- |\n| Retainer | full month |\n| Search CPA | extended |\n\n"
          "Booking data: see your [Google Ads account](https://ads.google.com/).\n")
    ko = LINE_RES[("2026-10", "kumo-video-cpm")]
    write("periods/2026-10/notes/kumo.md",
          "# October 2026 / 2026年10月\n\n"
          f"- The video line reached its budget cap: USD {ko['over']:,} of delivery in October is **not billed**.\n"
          "- USD→JPY moved more than 5 % since September (locked month-end rate).\n"
          "- Localisation hours are billed at the unchanged rate of ¥12,000 per hour.\n\n"
          "| | September | October |\n| --- | ---: | ---: |\n"
          "| USD→JPY | 148.05 | 156.73 |\n\n"
          "Rate source: [Bank of England database](https://www.bankofengland.co.uk/boeapps/database/).\n")
    scenario("Markdown notes (heading, list, table, link)",
             "`periods/2026-08/notes/brightwater.md`, `periods/2026-08/notes/helios.md`, `periods/2026-09/notes/oakridge.md`, `periods/2026-10/notes/kumo.md`")


# --- keys and READMEs ----------------------------------------------------------

KEYS_README = """# DEMO KEY: DO NOT USE FOR REAL BILLING

**The private key in this folder (`demo-agency.pem`) is published on purpose.**
Anyone can read it, so anything it signs proves nothing about who signed it.

- It exists only so that the demo portal can be built and signed out of the box and
  tests are reproducible.
- Git does not keep file modes, so in a fresh clone `build` warns that the key can
  be read by other users. For this demo key that is true and harmless.
- Never sign real invoices or evidence bundles with it. Never trust it in
  `tallyseal verify --key` outside a demo.
- For real use, run `tallyseal keygen`, keep the private key out of version
  control (mode 0600), and give clients the public key through a separate channel.

Files:
- `demo-agency.pem`: Ed25519 private key, PKCS#8 PEM (`openssl genpkey -algorithm ed25519`)
- `demo-agency.pub.pem`: its public key, SPKI PEM (`openssl pkey -pubout`)

`scripts/make_sample_data.py` creates these once, if missing, and never replaces them.
"""


def ensure_keys():
    keys = ROOT / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    priv, pub = keys / "demo-agency.pem", keys / "demo-agency.pub.pem"
    if not priv.exists():
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(priv)], check=True)
        os.chmod(priv, 0o600)
    if not pub.exists():
        subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)], check=True)
    (keys / "README.md").write_text(KEYS_README, encoding="utf-8")


def write_readme(nrows: int):
    docs_tbl = []
    for x in DOCS:
        st, bal = STATUS[("2026-10", x["number"])]
        cur = x["currency"]
        docs_tbl.append(f"| {x['number']} | {x['period']} | {x['client_id']} | {cur} | "
                        f"{money(x['subtotal'], cur)} | {money(x['tax'], cur)} | {money(x['total'], cur)} | "
                        f"{st} | {money(bal, cur)} |")
    scen = "\n".join(f"| {w} | {where} |" for w, where in SCENARIOS)
    text = f"""# tallyseal demo project: Northwind Media Ltd

Generated by `scripts/make_sample_data.py` (deterministic; rerun it instead of editing
files by hand). Check it with `tallyseal check sample-data`.

**Northwind Media Ltd** is a London media agency (GB VAT id) with six clients in five
invoice currencies, three source exports (Google Ads and Meta as platforms, Campaign
Manager 360 as ad server) and three billing periods: `2026-08` and `2026-09`, sealed
(their signed bundles stored in `periods/<period>/sealed/`, their inputs locked by
`periods/<period>/seal.lock`), and `2026-10`, open ({nrows:,} raw export data rows in
total). `keys/` holds a **demo** signing key, published on purpose (see
`keys/README.md`).

| client_id | invoice currency | tax | lines |
| --- | --- | --- | --- |
""" + "\n".join(
        f"| {c['client_id']} | {c['currency']} | {c['tax_treatment']} {c['tax_rate']} | "
        + ", ".join(f"`{l['line_id']}` ({l['model']}, {l['currency']})" for l in LINES if l['client_id'] == c['client_id'])
        + " |" for c in CLIENTS) + f"""

## Invoice numbering

Every client has an active line in every period, so each period issues six documents,
numbered in order of (period, client_id): 2026-08 → NW-00001 (alpenrose) … NW-00006
(redwood), 2026-09 → NW-00007 … NW-00012, 2026-10 → NW-00013 … NW-00018, in the order
alpenrose, brightwater, helios, kumo, oakridge, redwood.

## Scenarios and where they live

Line numbers are physical lines of the file (1-based; a quoted cell with a newline
spans two lines).

| scenario | where |
| --- | --- |
{scen}

Variances the data produces (each one is explained, or explains itself):
{", ".join(f"`{lid}` {cause} ({p})" for p, lid, cause in sorted(EXPECTED_VARIANCES))}.
Expected warnings/failures: unmapped rows (agency `rows_mapped`), the duplicate row
(`no_duplicates` for brightwater 2026-08), the bw discrepancy
(`discrepancy_within_tolerance`), single-source lines (cpc/cpa lines reported by one
source kind only), pending CO-0021 / ADJ-0903 (2026-09) / milestones (`approvals`,
`milestones_accepted` warn), CO-0022 (`approvals` fail for kumo from 2026-10).

## Interpretations this data relies on

- Google Ads: preamble lines are raw lines (line 2 is quoted because it has commas);
  `Total: ...` rows keep the header's field count, with `--` in non-numeric cells.
- Meta: records end with CRLF; the newline inside a quoted `Ad name` is a bare LF,
  as Excel and Meta write it.
- `milestones.csv` is a cumulative tracker export: a milestone billed earlier is listed
  again later and must show as already billed, not be billed twice.
- An end-date change order (CO-0015) is effective before the old end date, so every
  reading of `effective_from` for `end` gives the same flight.
- `*` checklist rows carry no attachment (it would be copied into every portal).
- media_pct `rate` is a percent (`12` = 12 %); `basis` is blank on non-unit lines.
- Git does not keep the key's 0600 mode: a world-readable-key warning is expected.

## Cross-check figures

Computed by the generator's own small implementation of `rules.md` (half-up rounding).
They are a cross-check for development, not part of the contract: where they disagree
with the spec, the spec wins. Status and balance are as of 2026-10-31.

| number | period | client | cur | subtotal | tax | total | status 2026-10-31 | balance |
| --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: |
""" + "\n".join(docs_tbl) + "\n"
    write("README.md", text)


def remove(path: Path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def clean():
    """Empties sample-data/, keeping the demo key and what sealed periods stored."""
    ROOT.mkdir(parents=True, exist_ok=True)
    for child in sorted(ROOT.iterdir()):
        if child.name == "keys":
            continue
        if child.name != "periods" or not child.is_dir():
            remove(child)
            continue
        for period in sorted(child.iterdir()):
            if not period.is_dir():
                remove(period)
                continue
            for entry in sorted(period.iterdir()):
                if entry.name not in ("sealed", "seal.lock"):
                    remove(entry)


def main():
    clean()
    write_toml()
    write_master()
    nrows = write_exports()
    write_fx()
    write_change_orders()
    write_milestones()
    write_timesheets()
    write_adjustments()
    write_variances()
    write_payments()
    write_checklists()
    write_attachments()
    write_notes()
    ensure_keys()
    write_readme(nrows)
    print(f"wrote {len(FILES)} files to {ROOT} ({nrows} export data rows)")


if __name__ == "__main__":
    main()
