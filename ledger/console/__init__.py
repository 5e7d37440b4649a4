"""The web console: static pages served by ``ledger serve`` next to
the GraphQL API, same origin, same bearer tokens.

Scope: pages and their assets (``static/``), the security headers every
console response carries (``site``), and three small JSON routes of reference
data the API does not serve (``reference``: the GB/T 2260 region tree, the
log's verifier key, an identifier's server-side check). Not in scope: any
authorisation of its own. Every read and write of the ledger goes through
``POST /graphql`` with the user's token, so what a console user may do is
exactly what the token's role and jurisdiction allow (``ledger/access/policy.py``).
See docs/console.md and docs/decisions/0008-web-console.md.
"""

from ledger.console.site import console_routes, is_public

__all__ = ["console_routes", "is_public"]
