"""The Accounting API family of the sandbox (``/api.xro/2.0``).

``register(ext)`` adds the router and the seeder to a ``SandboxExtensions``
(``default_extensions()`` already does)::

    from ledgerbridge.sandbox import create_sandbox_app, default_extensions

    app = create_sandbox_app(extensions=default_extensions())

Modules: ``wire`` (dates, exact-Decimal JSON, envelope, error bodies; reusable by other
families), ``query`` (``where``/``order``/paging), ``framework`` (lists, batches,
``summarizeErrors``, ``Idempotency-Key``), ``refdata`` (account and tax-type rules),
``documents`` (lines, totals, statuses, balances for Invoices, CreditNotes and
PurchaseOrders), one module per resource, and ``seed`` (demo data at any size).

Choices where Xero documents nothing (XERO_API_NOTES marks them unverified), so a reader
of a failing client test knows what the sandbox did and why:

* Idempotency: replays (status and body) for 24 h of sandbox time, per app and key; the
  same key with another method, path, query or body is a 400 ``ValidationException`` with
  ``Message`` "Idempotency Key: <key> is used with a different request.".
* Lists without ``order`` come in creation order (stable for paging).
* ``where`` strings compare case-sensitively (.NET); ``Guid(...)`` case-insensitively.
* Allocation, approval and tracking-limit messages are the sandbox's own wording;
  every message the notes quote from Xero is used verbatim.
* Approving a document needs an account on each priced line and a non-negative total; a
  missing ``DueDate`` is accepted.
* A contact named only by ``Name`` on a new document is created when no contact has it.
"""

from ledgerbridge.sandbox.accounting.router import build_router, register
from ledgerbridge.sandbox.accounting.seed import SeedSizes, seed_accounting

__all__ = ["SeedSizes", "build_router", "register", "seed_accounting"]
