"""The GraphQL API (strawberry) and its ASGI app: a thin edge over ``ledger``.

Never name a module here (or anywhere importable) ``graphql``: it would shadow
graphql-core, which strawberry imports under that name (the README's layout; tests/test_cli.py).
"""
