"""Disputes (异议): a resident contests a line of their own statement, with deadlines.

A resident may dispute a line within the community's window (default 30 days after it was posted);
station staff or an administrator must answer by a deadline (default 7 days). Unanswered disputes
escalate to the supervisors (村务监督委员会) nightly and appear on the next disclosure. An answer keeps
the line (with a reason) or corrects it through the normal reversal path of what the line came from.
"""
