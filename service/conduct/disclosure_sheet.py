"""The monthly disclosure as a printable sheet for the notice board (积分公示栏), in the reader's
language: the notice period (公示期), the issuing community, whom to tell an objection, and the
published chain head with its QR code."""

from __future__ import annotations

import datetime as dt

from flask import render_template_string
from flask_babel import lazy_gettext as _l

from ..localtime import local

SHEET_KINDS = {
    "award": _l("award"),
    "deduction": _l("deduction"),
    "award_announced": _l("award (in notice period)"),
    "deduction_announced": _l("deduction (in notice period)"),
    "reversal": _l("reversal"),
}


SHEET = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ b.community_name }} {{ b.month }} {{ _('Monthly disclosure') }}</title>
<style>
body{font-family:"Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:1.5cm;color:#111}
h1{font-size:20pt;text-align:center;margin-bottom:.2em}h2{font-size:13pt;margin-top:1.2em}
p.sub{text-align:center;color:#444;margin-top:0}
table{border-collapse:collapse;width:100%;font-size:10.5pt}th,td{border:1px solid #666;padding:3px 6px}
th{background:#eee}td.n{text-align:right}.head{display:flex;gap:1em;align-items:center;font-size:9pt}
.head svg{width:3.2cm;height:3.2cm}.bad{color:#b00}
@media print{body{margin:1cm}h2{page-break-after:avoid}tr{page-break-inside:avoid}}
</style></head><body>
<h1>{{ b.community_name }} {{ _('Monthly disclosure') }}</h1>
<p class="sub">{{ b.month }} · {{ _('Issued by %(community)s', community=b.community_name) }} · {{ _('generated %(when)s', when=generated) }}</p>
{% if b.notice %}<p class="sub" data-testid="notice-period">{{ _('Notice period: %(start)s to %(end)s', start=b.notice['from'], end=b.notice['to']) }}</p>{% endif %}
<h2>{{ _('Volunteer hours') }}</h2>
<table><tr><th>{{ _('Name') }}</th><th>{{ _('Volunteer number') }}</th><th>{{ _('Records') }}</th><th>{{ _('Minutes') }}</th><th>{{ _('Coins') }}</th></tr>
{% for v in b.volunteer_hours or [] %}<tr><td>{{ v.name }}</td><td>{{ v.volunteer_number or "" }}</td><td class="n">{{ v.records }}</td><td class="n">{{ v.minutes }}</td><td class="n">{{ v.coins }}</td></tr>
{% else %}<tr><td colspan="5">{{ _('Nothing this month') }}</td></tr>{% endfor %}</table>
<h2>{{ _('Awards, deductions and reversals') }}</h2>
<table><tr><th>{{ _('Date') }}</th><th>{{ _('Kind') }}</th><th>{{ _('Name') }}</th><th>{{ _('Volunteer number') }}</th><th>{{ _('Indicator') }}</th><th>{{ _('Points') }}</th><th>{{ _('Coins moved') }}</th><th>{{ _('Shortfall') }}</th></tr>
{% for r in b.rows %}<tr><td>{{ r.date }}</td><td>{{ labels.get(r.kind, r.kind) }}</td><td>{{ r.name }}</td>
<td>{{ r.volunteer_number or "" }}</td><td>{{ r.indicator }}</td><td class="n">{{ r.points }}</td><td class="n">{{ r.coins if r.coins is defined else "" }}</td><td class="n">{{ r.shortfall or "" }}</td></tr>
{% else %}<tr><td colspan="8">{{ _('Nothing this month') }}</td></tr>{% endfor %}</table>
<p>{{ _('Awards: %(n)s, %(p)s points', n=b.totals.awards, p=b.totals.award_points) }} · {{ _('Deductions: %(n)s, %(p)s points', n=b.totals.deductions, p=b.totals.deduction_points) }} · {{ _('Reversals: %(n)s', n=b.totals.reversals) }}</p>
{% if b.reversals %}<h2>{{ _('Reversals') }}</h2>
<table><tr><th>{{ _('Date') }}</th><th>{{ _('Name') }}</th><th>{{ _('What it reversed') }}</th><th>{{ _('Unit') }}</th><th>{{ _('Amount') }}</th><th>{{ _('Reason') }}</th></tr>
{% for r in b.reversals %}<tr><td>{{ r.date }}</td><td>{{ r.name }}</td><td>{{ r.reverses.kind }} #{{ r.reverses.transaction_id }} ({{ r.reverses.date }})</td><td>{{ r.unit }}</td><td class="n">{{ r.amount }}</td><td>{{ r.reason }}</td></tr>{% endfor %}</table>{% endif %}
{% if b.adjustments %}<h2>{{ _('Adjustments') }}</h2>
<table><tr><th>{{ _('Date') }}</th><th>{{ _('Name') }}</th><th>{{ _('Unit') }}</th><th>{{ _('Amount') }}</th><th>{{ _('Reason') }}</th></tr>
{% for a in b.adjustments %}<tr><td>{{ a.date }}</td><td>{{ a.name }}</td><td>{{ a.unit }}</td><td class="n">{{ a.amount }}</td><td>{{ a.reason }}</td></tr>{% endfor %}</table>{% endif %}
{% if b.expiry %}<h2>{{ _('Expired coins') }}</h2>
<table><tr><th>{{ _('Date') }}</th><th>{{ _('Name') }}</th><th>{{ _('Coins') }}</th></tr>
{% for x in b.expiry %}<tr><td>{{ x.date }}</td><td>{{ x.name }}</td><td class="n">{{ x.coins }}</td></tr>{% endfor %}</table>{% endif %}
{% if b.time_bank %}<h2>{{ _('Time bank: hours spent and given') }}</h2>
<table><tr><th>{{ _('Date') }}</th><th>{{ _('Kind') }}</th><th>{{ _('Name') }}</th><th>{{ _('Minutes') }}</th></tr>
{% for t in b.time_bank %}<tr><td>{{ t.date }}</td><td>{{ t.kind }}</td><td>{{ t.name }}</td><td class="n">{{ t.minutes }}</td></tr>{% endfor %}</table>{% endif %}
<h2>{{ _('Love supermarkets') }}</h2>
<table><tr><th>{{ _('Supermarket') }}</th><th>{{ _('Baskets') }}</th><th>{{ _('Coins redeemed') }}</th><th>{{ _('Refunds') }}</th><th>{{ _('Coins refunded') }}</th><th>{{ _('Net') }}</th></tr>
{% for s in b.supermarkets %}<tr><td>{{ s.name }}</td><td class="n">{{ s.redemptions }}</td><td class="n">{{ s.coins_redeemed }}</td>
<td class="n">{{ s.refunds }}</td><td class="n">{{ s.coins_refunded }}</td><td class="n">{{ s.net_coins }}</td></tr>{% endfor %}</table>
{% if b.issuance %}<h2>{{ _('Issuance against the budget') }}</h2>
<p>{{ _('Coins issued this month: %(n)s', n=b.issuance.coins_issued) }}</p>
{% for g in b.issuance.budgets %}<p>{{ _('Budget %(start)s to %(end)s: %(coins)s coins, %(used)s used, %(left)s left', start=g.period_start, end=g.period_end, coins=g.coins, used=g.used, left=g.remaining) }}</p>{% endfor %}{% endif %}
{% if b.tie_out %}<p data-testid="tie-out" class="{{ '' if b.tie_out.ok else 'bad' }}">{{ _('Every section adds up to the ledger.') if b.tie_out.ok else _('Some sections do not add up to the ledger: ask the office.') }}</p>{% endif %}
{% if b.flags %}<h2>{{ _("Supervisors' flags") }}</h2>
<table><tr><th>#</th><th>{{ _('Award') }}</th><th>{{ _('Flagged') }}</th><th>{{ _('Reason') }}</th><th>{{ _('Status') }}</th><th>{{ _('Resolved') }}</th><th>{{ _('Note') }}</th></tr>
{% for f in b.flags %}<tr><td>{{ f.flag_id }}</td><td>{{ f.award_id }}</td><td>{{ f.flagged_on }}</td><td>{{ f.reason }}</td>
<td>{{ f.status }}</td><td>{{ f.resolved_on or "" }}</td><td>{{ f.resolution_note or "" }}</td></tr>{% endfor %}</table>{% endif %}
<p class="sub" data-testid="objections">{{ _('Objections: %(contact)s', contact=b.objection_contact or _('the village supervision committee')) }}</p>
{% if b.escalated_disputes %}<h2>{{ _('Disputes not answered in time') }}</h2>
<table data-testid="escalated-disputes"><tr><th>#</th><th>{{ _('Resident') }}</th><th>{{ _('Line') }}</th><th>{{ _('Sent') }}</th><th>{{ _('answer due') }}</th></tr>
{% for d in b.escalated_disputes %}<tr><td>{{ d.dispute_id }}</td><td>{{ d.name }}</td><td>{{ labels.get(d.kind, d.kind) }}</td><td>{{ d.opened_on }}</td><td>{{ d.due_on }}</td></tr>{% endfor %}</table>{% endif %}
{% if b.chain_head %}<div class="head" data-testid="chain-head">{{ qr|safe }}<div>{{ _('Published chain head') }}: #{{ b.chain_head.seq }}<br><code>{{ b.chain_head.hash }}</code></div></div>{% endif %}
{% if b.statement_head %}<div class="head" data-testid="statement-head">{{ statement_qr|safe }}<div>{{ _('Statements are checked against') }}: {{ _('block') }} {{ b.statement_head.block }}<br><code>{{ b.statement_head.hash }}</code><br>{{ _('Check yours at /verify-statement') }}</div></div>{% endif %}
</body></html>"""


def as_html(body: dict, generated_at: dt.datetime | None, timezone: str) -> str:
    """The printable sheet for the notice board, in the reader's language, with a QR code of the
    published chain head (anyone can compare it with ``/api/v1/ledger/chain-head``)."""
    import segno
    from flask_babel import get_locale

    generated = local(generated_at, timezone).strftime("%Y-%m-%d %H:%M") if generated_at else "—"
    head = body.get("chain_head")
    qr = segno.make(f"greencoin:chain-head:{head['seq']}:{head['hash']}", error="m").svg_inline(scale=4) if head else ""
    proofs = body.get("statement_head")
    statement_qr = (
        segno.make(f"greencoin:statement-head:{proofs['block']}:{proofs['hash']}", error="m").svg_inline(scale=4)
        if proofs else ""
    )
    lang = "en" if str(get_locale() or "zh").startswith("en") else "zh-CN"
    return render_template_string(SHEET, b=body, labels={k: str(v) for k, v in SHEET_KINDS.items()}, generated=generated, qr=qr,
                                  statement_qr=statement_qr, lang=lang)
