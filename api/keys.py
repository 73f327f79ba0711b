"""Command line for API keys: `python -m api.keys create --tenant NAME` prints a new key.

The key is printed once, alone on stdout (notes go to stderr), and only its SHA-256 is stored.
The tenant is created if it does not exist. `revoke --prefix PREFIX` revokes a leaked key.
Uses the process settings (DATABASE_URL, or SQLite under ./var); the schema must be migrated.
"""

from __future__ import annotations

import argparse
import sys

from config import get_settings
from store.db import session_scope
from store.tenants import create_api_key, get_or_create_tenant, revoke_api_key


def create(tenant_name: str, label: str) -> str:
    with session_scope(get_settings().effective_database_url) as session:
        tenant = get_or_create_tenant(session, tenant_name)
        row, key = create_api_key(session, tenant, label)
        prefix = row.prefix
    print(f"new key {prefix}... for tenant {tenant_name!r}; it is shown only now:", file=sys.stderr)
    print(key)
    return key


def revoke(prefix: str) -> int:
    with session_scope(get_settings().effective_database_url) as session:
        count = revoke_api_key(session, prefix)
    print(f"revoked {count} key(s) with prefix {prefix}", file=sys.stderr)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.keys", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("create", help="create a key (and the tenant if needed)")
    make.add_argument("--tenant", required=True, help="tenant name")
    make.add_argument("--label", default="", help="a note to tell keys apart")
    drop = commands.add_parser("revoke", help="revoke the keys with this prefix")
    drop.add_argument("--prefix", required=True, help="the first 12 characters of the key")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            create(args.tenant, args.label)
            return 0
        return 0 if revoke(args.prefix) else 1
    except ValueError as exc:
        parser.error(str(exc))
    return 2


if __name__ == "__main__":
    sys.exit(main())
