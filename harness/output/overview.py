"""The overview page of a split report: one static HTML file, no network, opens at fleet size.

It shows the run's totals, findings new versus known, waivers, could-not-measure by reason, the
trend over the kept runs and this run's transitions, one row per group report, and a search over
every result by host, address or check. The results are embedded as compact rows (a few bytes
each: 40,000 results make about 1 MB), and the search renders at most MAX_ROWS matches, so
neither loading nor filtering grows with anything but a linear scan of those rows.

`index.html#q=tls-007` opens with that search done; the page records how long the filter took in
`data-search-ms` on <body>, which the bench reads back from headless Chromium.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from harness.output.history import Run
from harness.output.report_groups import Group

MAX_ROWS = 300
STATUSES = ("failed", "broken", "skipped", "passed", "unknown")
SEVERITIES = ("critical", "high", "medium", "low", "info")  # the catalogue's words, worst first

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}
th{background:#f4f4f4}.n{text-align:right}.failed{color:#c0392b}.broken{color:#b7950b}
.passed{color:#1e8449}.skipped{color:#7f8c8d}.cards span{display:inline-block;margin:0 1.2em .3em 0}
.headline{font-size:1.3em}
input{font-size:1em;padding:.3em;width:28em}small{color:#666}
"""

_JS = """
const D = JSON.parse(document.getElementById('data').textContent);
const S = ['passed','failed','broken','skipped','unknown'];
const F = ['', 'new', 'known'];
const out = document.getElementById('hits'), info = document.getElementById('hitinfo');
function esc(s){return s.replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));}
function search(q){
  const t0 = performance.now();
  q = q.trim().toLowerCase();
  const rows = [];
  let n = 0;
  if (q) {
    const tHit = D.targets.map((t,i)=>t.toLowerCase().includes(q)||D.addresses[i].includes(q));
    const cHit = D.checks.map(c=>c.toLowerCase().includes(q));
    for (const r of D.rows) {
      if (tHit[r[0]] || cHit[r[1]]) {
        n++;
        if (rows.length < MAX_ROWS) rows.push(r);
      }
    }
  }
  rows.sort((a,b)=>a[2]===b[2]?0:(a[2]===1?-1:b[2]===1?1:a[2]===2?-1:b[2]===2?1:0));
  out.innerHTML = rows.map(r=>{
    const g = D.groups[r[4]], st = S[r[2]];
    return '<tr><td>'+esc(D.targets[r[0]])+'</td><td>'+esc(D.checks[r[1]])+'</td><td class="'+st+'">'+st+
      '</td><td>'+F[r[3]]+'</td><td>'+esc(D.cats[r[5]]||'')+'</td><td><a href="'+g[0]+'/index.html">'+esc(g[1])+'</a></td></tr>';
  }).join('');
  info.textContent = q ? (n+' results match'+(n>rows.length?', the first '+rows.length+' shown (failed and broken first)':'')) : '';
  void out.offsetHeight;
  const ms = performance.now() - t0;
  document.body.dataset.searchMs = ms.toFixed(1);
  document.body.dataset.searchHits = String(n);
  return ms;
}
const box = document.getElementById('q');
let timer = 0;
box.addEventListener('input', ()=>{clearTimeout(timer); timer = setTimeout(()=>search(box.value), 120);});
const m = location.hash.match(/q=([^&]*)/);
if (m) { box.value = decodeURIComponent(m[1]); search(box.value); }
document.body.dataset.ready = '1';
"""


def _trend_svg(runs: list[Run]) -> str:
    """Failed, broken and passed per kept run, as a small inline line chart."""
    if not runs:
        return "<p><small>No earlier runs in the history yet.</small></p>"
    w, h, pad = 640, 160, 24
    top = max(1, *(max(r.summary.get(s, 0) for s in STATUSES) for r in runs))
    step = (w - 2 * pad) / max(1, len(runs) - 1)
    lines = []
    for status, colour in (("passed", "#1e8449"), ("failed", "#c0392b"), ("broken", "#b7950b")):
        pts = " ".join(
            f"{pad + i * step:.1f},{h - pad - (r.summary.get(status, 0) / top) * (h - 2 * pad):.1f}"
            for i, r in enumerate(runs)
        )
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}">'
            f"<title>{status}</title></polyline>"
        )
    return (
        f'<svg width="{w}" height="{h}" role="img" aria-label="trend over {len(runs)} runs">'
        f'<rect width="{w}" height="{h}" fill="#fafafa"/>{"".join(lines)}'
        f'<text x="{pad}" y="14" font-size="11">{top} results; {len(runs)} runs, oldest left '
        "(green passed, red failed, amber broken)</text></svg>"
    )


def render(
    name: str,
    groups: list[Group],
    runs: list[Run],
    transitions: dict[str, int],
    ports_found: str = "",  # the coverage section (harness.output.coverage_report)
) -> str:
    results = [r for g in groups for r in g.results]
    totals = Counter(r.status for r in results)
    findings = Counter(r.finding for r in results if r.status == "failed")
    cats = Counter(r.category for r in results if r.category)
    targets = sorted({r.target for r in results})
    t_index = {t: i for i, t in enumerate(targets)}
    address = {r.target: r.address for r in results}
    checks = sorted({r.check for r in results})
    c_index = {c: i for i, c in enumerate(checks)}
    cat_names = sorted(cats)
    cat_index = {c: i + 1 for i, c in enumerate(cat_names)}
    s_index = {"passed": 0, "failed": 1, "broken": 2, "skipped": 3}
    f_index = {"new": 1, "known": 2}
    rows = [
        [
            t_index[r.target],
            c_index[r.check],
            s_index.get(r.status, 4),
            f_index.get(r.finding, 0),
            gi,
            cat_index.get(r.category, 0),
        ]
        for gi, g in enumerate(groups)
        for r in g.results
    ]
    data = {
        "targets": targets,
        "addresses": [address.get(t, "") for t in targets],
        "checks": checks,
        "cats": ["", *cat_names],
        "groups": [[g.key, g.title] for g in groups],
        "rows": rows,
    }
    esc = html.escape
    severity = Counter(r.risk for r in results if r.status == "failed")
    waived = sum(r.category == "Waived" for r in results)
    headline = (
        "".join(
            f'<span class="failed sev-{esc(level)}"><b>{severity[level]}</b> {esc(level)}</span>'
            for level in [*SEVERITIES, *sorted(set(severity) - set(SEVERITIES))]
            if severity.get(level)
        )
        or '<span class="passed"><b>0</b> findings</span>'
    )
    headline += (
        f'<span class="broken"><b>{totals.get("broken", 0)}</b> could not measure</span>'
        f'<span class="skipped"><b>{waived}</b> waived</span>'
    )
    cards = "".join(
        f'<span class="{s}"><b>{totals.get(s, 0)}</b> {s}</span>' for s in STATUSES if totals.get(s)
    )
    finding_line = (
        f"<b>{findings.get('new', 0)}</b> new, <b>{findings.get('known', 0)}</b> known"
        if findings.get("new") or findings.get("known")
        else "new versus known needs <code>--known-findings</code> on the run"
    )
    trans = ", ".join(f"{v} {k}" for k, v in transitions.items()) if runs else "first run"
    group_rows = "".join(
        "<tr><td><a href='{k}/index.html'>{t}</a></td><td class=n>{nt}</td><td class=n>{n}</td>"
        "<td class='n failed'>{f}</td><td class='n broken'>{b}</td><td class=n>{new}</td>"
        "<td><small>{names}</small></td></tr>".format(
            k=esc(g.key),
            t=esc(g.title),
            nt=len(g.targets),
            n=len(g.results),
            f=sum(r.status == "failed" for r in g.results),
            b=sum(r.status == "broken" for r in g.results),
            new=sum(r.finding == "new" for r in g.results),
            names=esc(", ".join(g.targets[:6]) + (" …" if len(g.targets) > 6 else "")),
        )
        for g in groups
    )
    cat_rows = "".join(
        f"<tr><td>{esc(c)}</td><td class=n>{cats[c]}</td></tr>" for c in sorted(cats)
    )
    check_fail = Counter(r.check for r in results if r.status in ("failed", "broken"))
    check_rows = "".join(
        f"<tr><td>{esc(c)}</td><td class=n>{n}</td></tr>" for c, n in check_fail.most_common(40)
    )
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(name)}: overview</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS}</style></head>
<body>
<h1>{esc(name)}</h1>
<p class="cards headline" id="headline">Findings by severity: {headline}</p>
<p class="cards"><small><span><b>{len(results)}</b> results over <b>{len(targets)}</b> targets:
</span>{cards}</small></p>
<p>Findings: {finding_line}. Since the last run: {esc(trans)}.</p>
{ports_found}
<h2>Search one host, address or check</h2>
<input id="q" type="search" placeholder="tls-007, 127.0.10.8 or tls.protocols" autofocus>
<p id="hitinfo"></p>
<table><thead><tr><th>Target</th><th>Check</th><th>Status</th><th>Finding</th><th>Category</th>
<th>Detailed report</th></tr></thead><tbody id="hits"></tbody></table>
<h2>Trend</h2>
{_trend_svg(runs)}
<h2>Detailed reports (Allure, one per group of targets)</h2>
<table><thead><tr><th>Report</th><th>Targets</th><th>Results</th><th>Failed</th><th>Broken</th>
<th>New</th><th>Some of its targets</th></tr></thead><tbody>{group_rows}</tbody></table>
<h2>Categories</h2>
<table><tbody>{cat_rows}</tbody></table>
<h2>Checks with the most failed or broken results</h2>
<table><tbody>{check_rows}</tbody></table>
<script type="application/json" id="data">{payload}</script>
<script>{_JS.replace("MAX_ROWS", str(MAX_ROWS))}</script>
</body></html>
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
