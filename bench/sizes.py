"""Rows, table and index sizes of a followups database on PostgreSQL, for the sizing in
docs/DEPLOY.md: bytes per row of each table (heap + TOAST) and of each of its indexes.

    .venv/bin/python bench/datagen.py --url postgresql+psycopg://postgres@127.0.0.1:PORT/sizes --followups 1000000
    .venv/bin/python bench/sizes.py --url postgresql+psycopg://postgres@127.0.0.1:PORT/sizes [--analyze]
"""

from __future__ import annotations

import argparse

from sqlalchemy import create_engine, text

TABLES = ("app_user", "api_token", "job", "contact", "outreach", "follow_up", "notification", "delivery")


def measure(url: str, analyze: bool = False) -> list[dict]:
    engine = create_engine(url)
    out = []
    with engine.connect() as conn:
        if analyze:
            conn.execute(text("ANALYZE"))
        for table in TABLES:
            rows = conn.scalar(text(f"SELECT count(*) FROM {table}"))
            heap = conn.scalar(text("SELECT pg_table_size(:t)"), {"t": table})  # heap + TOAST + maps
            total = conn.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": table})
            indexes = conn.execute(text(
                "SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = CAST(:t AS regclass) ORDER BY 2 DESC"), {"t": table}).all()
            out.append({"table": table, "rows": rows, "heap": heap, "total": total, "indexes": indexes})
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--analyze", action="store_true")
    args = parser.parse_args()
    grand = 0
    for t in measure(args.url, args.analyze):
        n = max(t["rows"], 1)
        grand += t["total"]
        print(f"{t['table']:<13} {t['rows']:>10,} rows  heap {t['heap'] / 2**20:8.1f} MiB ({t['heap'] / n:6.0f} B/row)"
              f"  total {t['total'] / 2**20:8.1f} MiB ({t['total'] / n:6.0f} B/row)")
        for name, size in t["indexes"]:
            print(f"    {name:<44} {size / 2**20:8.1f} MiB ({size / n:5.0f} B/row)")
    print(f"all tables and indexes: {grand / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
