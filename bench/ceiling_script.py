#!/usr/bin/env python3
"""The "statement" side of `make bench`: tbpay's own per-callback statement, run by pgbench.

  ceiling_script.py extract SRC [NAME] prints the SQL of constant NAME in SRC
                                       (src/store/postgres/apply_callback_sql.h). Without NAME:
                                       kApplyPendingSql, the statement of a callback's first
                                       attempt, or kApplyCallbackSql where there is no such one
  ceiling_script.py name SRC           prints the constant `extract SRC` takes
  ceiling_script.py same A B           exit 0 when two statement texts differ only in whitespace
  ceiling_script.py pgbench [--zalopay-only] < SQL
                                       prints a pgbench script that runs SQL once per transaction
                                       (--zalopay-only: odd payments only, all ZaloPay)

The statement comes in as tbpay sends it, with parameters $1..$11 (see PgPaymentStore::apply):
  $1 provider  $2 transaction id  $3 fallback order code (ZaloPay)  $4 amount  $5 outcome
  $6 statuses that may move to the outcome  $7 provider reference  $8 reason  $9 timestamp
  $10 outbox event id  $11 event type
Each $n becomes a pgbench variable (bound as a parameter with -M prepared, as tbpay binds it)
or, where the value differs per payment, an expression over the payment's number :i.

pgbench has no per-transaction counter, so each client keeps its own: :n starts at -1 (-D n=-1)
and grows by one per transaction; payment i = first + client_id + n * clients. Clients never
share a payment and no payment is completed twice, with no extra round trip and no shared
sequence. A client that passes :last aims past every seeded payment, so a round that runs
out completes nothing more (and is reported) instead of eating another run's payments. Seeded
payment i is ZALOPAY when i is odd, PAYOS when even (scripts/bench.sh seeds
them with the same formulas: order code TB-BENCH-i, ZaloPay app_trans_id 251213_TB-BENCH-i,
PayOS paymentLinkId md5('payos-link-' || i), amount from i and the seed).
"""
import re
import sys


DEFAULT_NAMES = ("kApplyPendingSql", "kApplyCallbackSql")


def constant(text, name):
    m = re.search(r"\b" + re.escape(name) + r'\s*=\s*R"sql\((.*?)\)sql"', text, re.S)
    return m.group(1).strip() + "\n" if m else None


def extract(path, name=None):
    """(name, SQL) of constant `name`, or of the first of DEFAULT_NAMES that SRC defines."""
    text = open(path, encoding="utf-8").read()
    for candidate in [name] if name else DEFAULT_NAMES:
        sql = constant(text, candidate)
        if sql is not None:
            return candidate, sql
    sys.exit(f"ceiling_script: no {name or ' or '.join(DEFAULT_NAMES)} statement in {path}")


def normalised(sql):
    return " ".join(sql.split()).rstrip(";").strip()


def rewrite(sql, params):
    """Replaces $n outside literals; hides ':' inside literals from pgbench's variable parser
    (it would read 'HH24:MI' as variable MI) by writing them as E'...\\x3a...': same value."""
    out, i = [], 0
    while i < len(sql):
        c = sql[i]
        if c == "'":
            j = i + 1
            while True:
                j = sql.index("'", j)
                if j + 1 < len(sql) and sql[j + 1] == "'":
                    j += 2
                    continue
                break
            literal = sql[i : j + 1]
            if re.search(r":[A-Za-z_]", literal):
                already_escape = i > 0 and sql[i - 1] in "Ee" and (i < 2 or not sql[i - 2].isalnum())
                body = literal[1:-1]
                if not already_escape:
                    body = body.replace("\\", "\\\\")
                literal = ("" if already_escape else "E") + "'" + body.replace(":", "\\x3a") + "'"
            out.append(literal)
            i = j + 1
        elif c == '"':
            j = sql.index('"', i + 1)
            out.append(sql[i : j + 1])
            i = j + 1
        elif c == "$" and i + 1 < len(sql) and sql[i + 1].isdigit():
            m = re.match(r"\$(\d+)", sql[i:])
            n = int(m.group(1))
            if n not in params:
                sys.exit(f"ceiling_script: the statement uses ${n}, which this script does not map")
            out.append(params[n])
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


COMMON = {
    4: ":amount",
    5: ":outcome",
    6: ":allowed",
    7: "(:i)::text",  # zp_trans_id / PayOS reference: any per-payment text
    8: "''",  # reason: empty unless FAILED, as tbpay sends it
    9: ":ts",
    10: "gen_random_uuid()::text",  # tbpay makes the UUID itself; here the server does
    11: ":event_type",
}
ZALOPAY = {
    **COMMON,
    1: ":zalopay",
    2: "('251213_TB-BENCH-' || (:i)::text)",
    3: "ARRAY['TB-BENCH-' || (:i)::text]",  # zalopay_order_codes(app_trans_id)
}
PAYOS = {
    **COMMON,
    1: ":payos",
    2: "md5('payos-link-' || (:i)::text)",
    3: "'{}'",
}


def pgbench_script(sql, zalopay_only=False):
    sql = sql.strip().rstrip(";")
    if zalopay_only:
        # Odd payments only: payment i = first + 2 * (client_id + n * clients), first odd.
        return "\n".join(
            [
                "-- generated by bench/ceiling_script.py from tbpay's webhook statement",
                "\\set n :n + 1",
                "\\set i :first + 2 * (:client_id + :n * :clients)",
                "\\set i case when :i > :last then :i + 1000000001 else :i end",
                "\\set amount 50000 + ((:i * 7919 + :seed) % 1951) * 1000",
                rewrite(sql, ZALOPAY) + ";",
                "",
            ]
        )
    return "\n".join(
        [
            "-- generated by bench/ceiling_script.py from tbpay's webhook statement",
            "\\set n :n + 1",
            "\\set i :first + :client_id + :n * :clients",
            # Past this round's payments: aim at none rather than at another run's (the
            # transaction then completes nothing, and scripts/bench.sh reports the round short).
            "\\set i case when :i > :last then :i + 1000000000 else :i end",
            "\\set amount 50000 + ((:i * 7919 + :seed) % 1951) * 1000",
            "\\if :i % 2 = 1",
            rewrite(sql, ZALOPAY) + ";",
            "\\else",
            rewrite(sql, PAYOS) + ";",
            "\\endif",
            "",
        ]
    )


def main(argv):
    if len(argv) in (3, 4) and argv[1] == "extract":
        sys.stdout.write(extract(argv[2], argv[3] if len(argv) == 4 else None)[1])
    elif len(argv) == 3 and argv[1] == "name":
        print(extract(argv[2])[0])
    elif len(argv) == 4 and argv[1] == "same":
        a = normalised(open(argv[2], encoding="utf-8").read())
        b = normalised(open(argv[3], encoding="utf-8").read())
        sys.exit(0 if a == b else 1)
    elif len(argv) in (2, 3) and argv[1] == "pgbench" and argv[2:] in ([], ["--zalopay-only"]):
        sys.stdout.write(pgbench_script(sys.stdin.read(), zalopay_only=len(argv) == 3))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
