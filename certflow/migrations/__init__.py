"""Alembic migrations of certflow's database, shipped inside the package.

Run them with ``certflow db upgrade`` or :func:`certflow.db.migrate.upgrade`;
no alembic.ini is needed. To write a new revision (developers)::

    python -m certflow.db.migrate revision -m "what changes"   # autogenerate against an upgraded SQLite file

then review the generated file in ``versions/`` (types, constraint names, data
steps, triggers for both SQLite and PostgreSQL) and check it in.
"""
