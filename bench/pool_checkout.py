"""The CPU a request spends to borrow a connection and make one round trip: psycopg's
AsyncConnectionPool (what followups.hot_db uses) against SQLAlchemy's asyncio engine (its
connection, then the driver's, or its own execute), each N times, alternated twice.

    .venv/bin/python bench/pool_checkout.py --url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import time

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import create_async_engine


async def main(url: str, n: int) -> None:
    pool = AsyncConnectionPool("postgresql://" + url.split("://", 1)[1], min_size=2, max_size=2,
                               kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True)
    engine = create_async_engine(url, pool_size=2, isolation_level="AUTOCOMMIT")

    async def psycopg_pool() -> None:
        async with pool.connection() as conn:
            await (await conn.execute("SELECT 1")).fetchall()

    async def sqlalchemy_then_driver() -> None:
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            await (await driver.execute("SELECT 1")).fetchall()

    async def sqlalchemy_execute() -> None:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    try:
        for _ in range(2):
            for name, call in (("psycopg_pool", psycopg_pool), ("sqlalchemy+driver", sqlalchemy_then_driver),
                               ("sqlalchemy execute", sqlalchemy_execute)):
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(n):
                    await call()
                print(f"{name:20} {(time.process_time() - cpu) / n * 1e6:6.0f} us CPU "
                      f"{(time.perf_counter() - wall) / n * 1e6:6.0f} us wall")
    finally:
        await pool.close()
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.n))
