"""Every table of the application, imported in one place (Alembic, tests, create_all)."""

from ledgerbridge.db import Base
from ledgerbridge.jobs.models import *  # noqa: F403
from ledgerbridge.payroll.models import *  # noqa: F403
from ledgerbridge.sync.models import *  # noqa: F403
from ledgerbridge.work.models import *  # noqa: F403
from ledgerbridge.xero.models import *  # noqa: F403

metadata = Base.metadata
