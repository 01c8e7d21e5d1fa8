"""Proof that the ledger is whole: cached balances = postings = lots, every transfer balanced, and
the cached cumulative spend = purchases less returns (after discounts)."""

from django.db import connection

from kopilka.ledger.models import LotSpend, PointLot, Posting, Transfer
from kopilka.members.models import Member
from kopilka.pos.models import Purchase, ReturnLine


def _rows(sql: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def ledger_problems(limit: int = 1000) -> list[str]:
    """Every disagreement found, one sentence each; an empty list means the ledger is consistent."""
    member, posting, lot, spend, transfer = (
        Member._meta.db_table,
        Posting._meta.db_table,
        PointLot._meta.db_table,
        LotSpend._meta.db_table,
        Transfer._meta.db_table,
    )
    problems = []
    for transfer_id, total in _rows(
        f"SELECT transfer_id, SUM(amount) FROM {posting} GROUP BY transfer_id HAVING SUM(amount) <> 0 LIMIT {limit}"
    ):
        problems.append(f"transfer {transfer_id}: postings sum to {total}, not 0")
    for transfer_id, points, total in _rows(
        f"SELECT t.id, t.points, COALESCE(SUM(p.amount), 0) FROM {transfer} t "
        f"LEFT JOIN {posting} p ON p.transfer_id = t.id AND p.account = 'member' "
        f"GROUP BY t.id, t.points HAVING t.points <> COALESCE(SUM(p.amount), 0) LIMIT {limit}"
    ):
        problems.append(
            f"transfer {transfer_id}: says {points} points for the member, postings say {total}"
        )
    for member_id, cached, posted, held in _rows(
        f"SELECT m.id, m.points_balance, COALESCE(p.total, 0), COALESCE(l.total, 0) FROM {member} m "
        f"LEFT JOIN (SELECT member_id, SUM(amount) AS total FROM {posting} WHERE account = 'member' "
        f"GROUP BY member_id) p ON p.member_id = m.id "
        f"LEFT JOIN (SELECT member_id, SUM(remaining) AS total FROM {lot} GROUP BY member_id) l "
        f"ON l.member_id = m.id "
        f"WHERE m.points_balance <> COALESCE(p.total, 0) OR m.points_balance <> COALESCE(l.total, 0) "
        f"ORDER BY m.id LIMIT {limit}"
    ):
        problems.append(
            f"member {member_id}: cached balance {cached}, postings {posted}, lots {held}"
        )
    for lot_id, points, remaining, spent in _rows(
        f"SELECT l.id, l.points, l.remaining, COALESCE(SUM(s.points), 0) FROM {lot} l "
        f"LEFT JOIN {spend} s ON s.lot_id = l.id GROUP BY l.id, l.points, l.remaining "
        f"HAVING l.points - COALESCE(SUM(s.points), 0) <> l.remaining ORDER BY l.id LIMIT {limit}"
    ):
        problems.append(f"lot {lot_id}: {points} points, {spent} spent, but {remaining} remaining")
    purchase, returned = Purchase._meta.db_table, ReturnLine._meta.db_table
    for member_id, cached, bought, back in _rows(
        f"SELECT m.id, m.spend_total, COALESCE(p.total, 0), COALESCE(r.total, 0) FROM {member} m "
        f"LEFT JOIN (SELECT member_id, SUM(amount - discount) AS total FROM {purchase} "
        f"GROUP BY member_id) p ON p.member_id = m.id "
        f"LEFT JOIN (SELECT member_id, SUM(amount - discount) AS total FROM {returned} "
        f"GROUP BY member_id) r ON r.member_id = m.id "
        f"WHERE m.spend_total <> COALESCE(p.total, 0) - COALESCE(r.total, 0) "
        f"ORDER BY m.id LIMIT {limit}"
    ):
        problems.append(
            f"member {member_id}: cached spend {cached}, purchases {bought} less returns {back}"
        )
    ((total,),) = _rows(f"SELECT COALESCE(SUM(amount), 0) FROM {posting}")
    if total != 0:
        problems.append(f"all postings sum to {total}, not 0")
    return problems
