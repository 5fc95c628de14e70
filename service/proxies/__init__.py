"""Acting for an elderly resident (代办): helpers a resident names to act on their behalf.

A resident (or desk staff for them, after checking identity) names helpers — a family member, a
grid worker (网格员) — who are residents with their own sign-in. A helper may give the elder's hours
to family and redeem the elder's coins at the counter; every such action records both people, the
elder's statement shows who acted, and a per-grant monthly coin cap bounds what a helper spends. The
elder or the desk revokes a helper at any time, effective at once. A helper sees only the elder's
coins and hours and the catalogue, nothing else of the elder's.
"""
