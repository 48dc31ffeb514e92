"""The report's one stylesheet, inlined into the page (the page fetches nothing, so no external CSS).

Colours of the charts live here too (classes such as ``s-limit``, ``d-REFER``), so the charts carry no colour of
their own and the page prints well.
"""

CSS = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f6f7f9;--card:#fff;--accent:#1f5fbf}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:20px 24px 60px}
header{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin-bottom:14px}
.title{display:flex;align-items:center;gap:12px}
h1{font-size:22px;margin:0}.runid{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
h2{font-size:17px;margin:0 0 6px}h3{font-size:15px;margin:16px 0 6px}h4{font-size:14px;margin:14px 0 6px}
.meta,.caption{color:var(--muted);margin:4px 0 10px}
.badge{font-size:12px;padding:2px 9px;border-radius:999px;font-weight:600}
.badge.ok{background:#e3f4e5;color:#1b5e20}.badge.warn{background:#fdecea;color:#b71c1c}
nav{position:sticky;top:0;z-index:1;background:rgba(246,247,249,.95);padding:6px 0 8px;margin-bottom:6px;
border-bottom:1px solid var(--line)}
nav a{color:var(--accent);text-decoration:none;margin-right:14px;font-size:13px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin:14px 0;
break-inside:avoid}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-top:12px}
.tile{border:1px solid var(--line);border-radius:8px;padding:9px 12px;background:#fbfcfd}
.tile .k{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.tile .v{font-size:21px;font-weight:650;margin:2px 0}.tile .s{font-size:12px;color:var(--muted)}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#f1f3f6;font-weight:600}
tbody tr:nth-child(even) td{background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.id{white-space:nowrap}
table.wide{width:100%}table.mono td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;
word-break:break-all}
.two{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.confusion td.hit{background:#e3f4e5!important;font-weight:600}.confusion td.miss{background:#fdecea!important;
color:#b71c1c;font-weight:600}.confusion td.zero{color:#b0b6c0}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;color:#fff;font-size:12px;font-weight:600}
.empty{color:var(--muted);font-style:italic}.more{color:var(--muted);font-size:12px}
.alert{background:#fdecea;color:#b71c1c;padding:8px 12px;border-radius:6px}
.ok{background:#e3f4e5;color:#1b5e20;padding:8px 12px;border-radius:6px}
.eval{border-top:1px solid var(--line);margin-top:10px}
code{background:#f1f3f6;padding:1px 5px;border-radius:4px}
svg.chart{width:100%;height:auto;display:block;margin:6px 0 10px;font-family:inherit}
svg g.legend{stroke:none}svg .grid{stroke:#eceef2}svg .axis{stroke:#9aa1ad}svg .tick{font-size:11px;fill:#5b6475}
svg .axis-label{font-size:12px;fill:#5b6475}svg .legend text{font-size:12px;fill:#333}
svg .series{fill:none;stroke-width:2;stroke-linejoin:round}
svg .s-requests{stroke:#1f5fbf}svg .s-tokens{stroke:#7b3fb0}svg .s-inflight{stroke:#00897b}
svg .s-limit{stroke:#d32f2f;stroke-dasharray:7 4;stroke-width:1.6}
svg .legend.s-requests rect{fill:#1f5fbf}svg .legend.s-tokens rect{fill:#7b3fb0}
svg .legend.s-inflight rect{fill:#00897b}svg .legend.s-limit rect{fill:#d32f2f}
svg .legend.mark-legend rect{fill:#d32f2f;height:8px}svg .legend.band-legend rect{fill:#ffcc80;height:8px}
svg .band{fill:#ffb74d;fill-opacity:.28}svg .mark{fill:#d32f2f}
svg .bar{fill:#5c7cba}svg .bar-label{font-size:12px;fill:#1d2330}svg .bar-note{font-size:12px;fill:#5b6475}
svg .marker{stroke:#1d2330;stroke-dasharray:4 3}svg .marker-label{font-size:12px;font-weight:600;fill:#1d2330}
.d-APPROVE{background:#2e7d32}.d-PARTIAL{background:#7cb342}.d-DENY{background:#c62828}
.d-REFER{background:#ef8f00}.d-FAILED{background:#616161}
svg .d-APPROVE{fill:#2e7d32}svg .d-PARTIAL{fill:#7cb342}svg .d-DENY{fill:#c62828}svg .d-REFER{fill:#ef8f00}
svg .d-FAILED{fill:#616161}
svg .r-deciding{fill:#3f5f9f}svg .r-also{fill:#b8c6e3}
svg .stage-coverage{fill:#5c7cba}svg .stage-assessment{fill:#7b3fb0}svg .stage-other{fill:#9aa1ad}
@media print{nav{display:none}body{background:#fff}section,header{border:none}}
"""
