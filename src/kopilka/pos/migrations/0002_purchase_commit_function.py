"""kopilka_purchase_commit(jsonb): the purchase commit as one statement on PostgreSQL.

`pos.services.purchase_commit_once` quotes the receipt in Python on the member's balance read a
moment before, then sends every row to write in one call of this function; the call is its own
transaction. The function claims the idempotency key, locks the member, and refuses (SQLSTATE
KP001/KP002, everything rolled back) when the key is taken or the member's status or points are
no longer what the quote saw; the service then takes the locked Python path, which answers those
cases. It writes exactly what `purchase_commit` and `ledger.purchase_points_in_transaction` write
(tests/pos/test_commit_paths.py compares the two): a change to either, or to a table it touches,
needs a new migration with CREATE OR REPLACE.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

FUNCTION = """
CREATE OR REPLACE FUNCTION kopilka_purchase_commit(p jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_at timestamptz := (p->>'at')::timestamptz;
    v_member bigint := (p->>'member_id')::bigint;
    v_purchase bigint := (p->>'purchase_id')::bigint;
    v_left bigint := (p->>'redeem')::bigint;
    v_status text;
    v_available bigint;
    v_pending bigint;
    v_transfer bigint;
    v_redeem_transfer bigint;
    v_earn_transfer bigint;
    v_entry jsonb;
    v_lot record;
    v_take bigint;
BEGIN
    -- The key first, as run_idempotent does: a second request with it waits here, then leaves.
    INSERT INTO core_idempotencyrecord (scope, key, request_hash, status_code, response, created_at)
    VALUES (p->>'scope', p->>'key', p->>'request_hash', 201, p->'response', v_at)
    ON CONFLICT (scope, key) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key in use' USING ERRCODE = 'KP001';
    END IF;

    IF v_member IS NOT NULL THEN
        SELECT status INTO v_status FROM members_member WHERE id = v_member FOR UPDATE;
        -- A statement of its own after the lock: it sees what the transaction we waited for wrote.
        SELECT COALESCE(SUM(remaining) FILTER (WHERE available_at <= v_at), 0),
               COALESCE(SUM(remaining) FILTER (WHERE available_at > v_at), 0)
          INTO v_available, v_pending
          FROM ledger_pointlot
         WHERE member_id = v_member AND remaining > 0 AND expires_at > v_at;
        IF v_status IS DISTINCT FROM 'active'
           OR v_available <> (p->>'available')::bigint
           OR v_pending <> (p->>'pending')::bigint THEN
            RAISE EXCEPTION 'member changed since the quote' USING ERRCODE = 'KP002';
        END IF;
    END IF;

    INSERT INTO pos_purchase (id, store_id, terminal_id, member_id, receipt_number, created_at,
                              amount, redeem_points, payable, earn_points)
    SELECT v_purchase, (p->>'store_id')::bigint, (p->>'terminal_id')::bigint, v_member,
           p->>'receipt_number', v_at, (p->>'amount')::bigint, (p->>'redeem')::bigint,
           (p->>'payable')::bigint, (p->>'earn')::bigint;

    INSERT INTO pos_purchaseline (purchase_id, member_id, position, sku, name, category, quantity,
                                  price, amount, redeem_points, earn_points)
    SELECT v_purchase, v_member, l.position, l.sku, l.name, l.category, l.quantity, l.price,
           l.amount, l.redeem_points, l.earn_points
      FROM jsonb_to_recordset(p->'lines') AS l(position integer, sku text, name text,
           category text, quantity numeric, price bigint, amount bigint, redeem_points bigint,
           earn_points bigint);

    FOR v_entry IN SELECT value FROM jsonb_array_elements(p->'transfers') LOOP
        INSERT INTO ledger_transfer (kind, member_id, purchase_id, purchase_return_id, points,
                                     created_at, reason, actor_label)
        VALUES (v_entry->>'kind', v_member, v_purchase, NULL, (v_entry->>'points')::bigint, v_at,
                '', p->>'actor_label')
        RETURNING id INTO v_transfer;
        INSERT INTO ledger_posting (transfer_id, account, member_id, amount)
        SELECT v_transfer, leg->>0, v_member, (leg->>1)::bigint
          FROM jsonb_array_elements(v_entry->'legs') AS leg;
        IF v_entry->>'kind' = 'redeem' THEN
            v_redeem_transfer := v_transfer;
        ELSE
            v_earn_transfer := v_transfer;
        END IF;
    END LOOP;

    IF (p->>'member_delta')::bigint <> 0 THEN
        UPDATE members_member SET points_balance = points_balance + (p->>'member_delta')::bigint
         WHERE id = v_member;
    END IF;

    -- Spend FIFO by expiry, as ledger._spend does.
    IF v_left > 0 THEN
        FOR v_lot IN
            SELECT id, remaining FROM ledger_pointlot
             WHERE member_id = v_member AND remaining > 0 AND expires_at > v_at
               AND available_at <= v_at
             ORDER BY expires_at, id
        LOOP
            v_take := least(v_lot.remaining, v_left);
            UPDATE ledger_pointlot SET remaining = remaining - v_take WHERE id = v_lot.id;
            INSERT INTO ledger_lotspend (lot_id, transfer_id, member_id, points)
            VALUES (v_lot.id, v_redeem_transfer, v_member, v_take);
            v_left := v_left - v_take;
            EXIT WHEN v_left = 0;
        END LOOP;
        IF v_left > 0 THEN
            RAISE EXCEPTION 'lots disagree with the checked balance' USING ERRCODE = 'KP003';
        END IF;
    END IF;

    IF v_earn_transfer IS NOT NULL THEN
        INSERT INTO ledger_pointlot (member_id, transfer_id, points, remaining, earned_at,
                                     available_at, expires_at)
        VALUES (v_member, v_earn_transfer, (p->>'earn')::bigint, (p->>'earn')::bigint, v_at,
                (p->>'available_at')::timestamptz, (p->>'expires_at')::timestamptz);
    END IF;

    INSERT INTO core_auditentry (created_at, actor_user_id, actor_terminal_id, actor_label, action,
                                 target_type, target_id, member_id, data)
    VALUES (v_at, NULL, (p->>'terminal_id')::bigint, p->>'actor_label', 'purchase.commit',
            'purchase', v_purchase, v_member, p->'audit');
END;
$$;
"""


def create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS kopilka_purchase_commit(jsonb)")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("members", "0002_initial"),
        ("ledger", "0002_initial"),
        ("pos", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
