"""The header rules, one module per header family; each turns what a response sent into findings.

``hsts``, ``csp``, ``framing`` (X-Frame-Options), ``cookies``, ``cors``, ``misc`` (nosniff,
referrer, permissions, COOP, CORP, banners), ``redirect`` (the plain-HTTP redirect) and
``grade`` (the Observatory grade). Every finding is built by ``harden_lib.catalog.finding``
from ``catalog/headers.yaml``; ``common`` holds how a server-sent value is quoted.
"""
