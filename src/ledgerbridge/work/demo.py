"""The demo workspace: a small Sydney digital agency with a month of real-looking work.

``ledgerbridge demo`` builds it so a new user sees every screen and endpoint with data in
it, and later issues attach the sandbox Xero to it. The data is deterministic for a given
day (a seeded ``random.Random``), so a bug seen in the demo can be reproduced, and it is
built straight through the models so it does not depend on the API being complete.

Conventions that keep the data safe to show and to send to a sandbox: email addresses are
under ``example.com`` (reserved, RFC 2606), phone numbers are in the ranges ACMA sets aside
for fiction (``5550 xxxx`` and ``7010 xxxx``), and ABNs are generated so their check digits
are valid without being copied from any register.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ledgerbridge.db import Base, utcnow
from ledgerbridge.errors import ValidationFailed
from ledgerbridge.money import LineAmountType, PricedLine, document_totals
from ledgerbridge.work import invoicing, users
from ledgerbridge.work.models import (
    ApiToken,
    Client,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Item,
    Member,
    MemberKind,
    Payment,
    Project,
    Role,
    Task,
    TaxRate,
    TimeEntry,
    User,
    Workspace,
    WorkspaceUser,
    WorkType,
)

DEMO_WORKSPACE_NAME = "Harbour Digital Pty Ltd"
DEMO_TIMEZONE = "Australia/Sydney"
DEMO_CURRENCY = "AUD"
DEMO_EMAIL = "demo@ledgerbridge.local"
# Documented in the README: the demo is for local use only, and its login is public by design.
DEMO_PASSWORD = "demo-password"  # noqa: S105
DEMO_TOKEN_NAME = "Demo token (ledgerbridge demo)"  # noqa: S105 - a label, not a secret
DEFAULT_SEED = 2026
WEEKS = 4

ORDINARY, OVERTIME, WEEKEND = "Ordinary hours", "Overtime", "Weekend"
SALES_ACCOUNT, CONTRACTOR_ACCOUNT, HOSTING_ACCOUNT, BANK_ACCOUNT = "200", "310", "485", "090"
SALES_TAX, PURCHASE_TAX = "OUTPUT", "INPUT"
MAIL_DOMAIN = "harbourdigital.example.com"
ABN_WEIGHTS = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)


# --------------------------------------------------------------------------- the cast


@dataclass(frozen=True)
class ClientSpec:
    name: str
    contact: tuple[str, str]
    email: str
    phone: str
    street: str
    city: str
    region: str
    postcode: str
    customer: bool = True
    supplier: bool = False
    archived: bool = False


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    code: str
    client: str | None
    bill_rate: str | None
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class MemberSpec:
    name: str
    kind: MemberKind
    cost_rate: str
    bill_rate: str
    started: str
    work: tuple[tuple[str, str, int], ...]  # (project, task, weight) they book time to
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    born: str | None = None  # employees: Xero Payroll requires a date of birth ...
    home: tuple[str, str, str, str] | None = None  # ... and a home address (street, suburb, state, postcode)

    @property
    def email(self) -> str:
        return f"{self.name.split()[0].lower()}@{MAIL_DOMAIN}"


TAX_RATES = (
    ("OUTPUT", "GST on Income", "10"),
    ("INPUT", "GST on Expenses", "10"),
    ("EXEMPTOUTPUT", "GST Free Income", "0"),
    ("BASEXCLUDED", "BAS Excluded", "0"),
)

WORK_TYPES = (ORDINARY, OVERTIME, WEEKEND)

CLIENTS = (
    ClientSpec("Bondi Surf Co Pty Ltd", ("Kate", "Sullivan"), "accounts@bondisurf.example.com",
               "02 5550 0142", "112 Campbell Parade", "Bondi Beach", "NSW", "2026"),
    ClientSpec("Coastal Physio Group", ("Daniel", "Rossi"), "admin@coastalphysio.example.com",
               "02 5550 0387", "Shop 3, 45 The Corso", "Manly", "NSW", "2095"),
    ClientSpec("Parramatta Legal Partners", ("Grace", "Fitzgerald"), "finance@parralegal.example.com",
               "02 7010 2291", "Level 9, 10 Smith Street", "Parramatta", "NSW", "2150"),
    ClientSpec("Harbourside Dental", ("Ahmed", "Haddad"), "practice@harbourside.example.com",
               "02 7010 4410", "Suite 4, 100 Miller Street", "North Sydney", "NSW", "2060"),
    ClientSpec("Yarra Valley Cellars", ("Sophie", "Marchetti"), "accounts@yvcellars.example.com",
               "03 5550 0918", "1520 Maroondah Highway", "Healesville", "VIC", "3777"),
    ClientSpec("Brisbane Bike Works", ("Ben", "Okafor"), "hello@bnebikeworks.example.com",
               "07 5550 0263", "88 Brunswick Street", "Fortitude Valley", "QLD", "4006"),
    ClientSpec("Fremantle Marine Supplies", ("Ruby", "Anderson"), "office@fremantlemarine.example.com",
               "08 5550 0634", "14 Mews Road", "Fremantle", "WA", "6160"),
    ClientSpec("Blue Mountains Retreats", ("Hamish", "Campbell"), "stay@bmretreats.example.com",
               "02 5550 0771", "22 Lurline Street", "Katoomba", "NSW", "2780", archived=True),
    ClientSpec("Newtown Coffee Roasters", ("Lucia", "Ferreira"), "orders@newtowncoffee.example.com",
               "02 7010 3356", "301 King Street", "Newtown", "NSW", "2042", supplier=True),
    ClientSpec("Sydney Cloud Hosting Pty Ltd", ("Raj", "Iyer"), "billing@sydcloud.example.com",
               "02 7010 1180", "Level 2, 55 Clarence Street", "Sydney", "NSW", "2000",
               customer=False, supplier=True),
    ClientSpec("Inkwell Print & Design", ("Nina", "Papadopoulos"), "jobs@inkwellprint.example.com",
               "02 5550 0499", "67 Foveaux Street", "Surry Hills", "NSW", "2010",
               customer=False, supplier=True),
    ClientSpec("Redfern Co-working", ("Oscar", "Lee"), "members@redferncowork.example.com",
               "02 7010 0625", "120 Redfern Street", "Redfern", "NSW", "2016",
               customer=False, supplier=True),
)

INTERNAL = "Harbour Digital internal"
PROJECTS = (
    ProjectSpec("Online store rebuild", "BSC-01", "Bondi Surf Co Pty Ltd", None,
                ("Discovery", "Design", "Development", "Testing", "Project management")),
    ProjectSpec("Booking app", "CPG-02", "Coastal Physio Group", None,
                ("UX research", "Design", "Development", "Project management")),
    ProjectSpec("Intranet refresh", "PLP-01", "Parramatta Legal Partners", "155",
                ("Content migration", "Development", "Training")),
    ProjectSpec("Brand refresh", "HSD-03", "Harbourside Dental", "165",
                ("Brand strategy", "Visual identity", "Copywriting")),
    ProjectSpec("Wine club e-commerce", "YVC-01", "Yarra Valley Cellars", None,
                ("Design", "Development", "SEO")),
    ProjectSpec(INTERNAL, "HD-INT", None, None, ("Admin", "Sales & proposals", "Training")),
)

MEMBERS = (
    MemberSpec("Olivia Nguyen", MemberKind.EMPLOYEE, "62", "185", "2021-02-01", (
        ("Online store rebuild", "Development", 6), ("Wine club e-commerce", "Development", 3),
        (INTERNAL, "Admin", 1)),
        born="1990-05-14", home=("27 Addison Road", "Marrickville", "NSW", "2204")),
    MemberSpec("Jack Thompson", MemberKind.EMPLOYEE, "55", "165", "2022-07-18", (
        ("Booking app", "Development", 6), ("Online store rebuild", "Testing", 2),
        (INTERNAL, "Training", 1)),
        born="1996-11-02", home=("Unit 5, 18 Bay Street", "Glebe", "NSW", "2037")),
    MemberSpec("Charlotte Walker", MemberKind.EMPLOYEE, "50", "150", "2020-09-07", (
        ("Online store rebuild", "Design", 4), ("Booking app", "Design", 3),
        ("Brand refresh", "Visual identity", 3), (INTERNAL, "Admin", 1)),
        born="1987-02-21", home=("9 Gladstone Street", "Leichhardt", "NSW", "2040")),
    MemberSpec("Noah Patel", MemberKind.EMPLOYEE, "42", "135", "2024-01-22", (
        ("Intranet refresh", "Content migration", 4), ("Intranet refresh", "Development", 4),
        (INTERNAL, "Training", 1)),
        born="2000-08-30", home=("41 Church Street", "Parramatta", "NSW", "2150")),
    MemberSpec("Isla Robinson", MemberKind.EMPLOYEE, "58", "170", "2019-11-04", (
        ("Online store rebuild", "Project management", 3), ("Booking app", "Project management", 3),
        (INTERNAL, "Sales & proposals", 2), (INTERNAL, "Admin", 1)),
        born="1984-09-17", home=("3 Wycombe Road", "Neutral Bay", "NSW", "2089")),
    MemberSpec("Lachlan Murphy", MemberKind.CONTRACTOR, "95", "190", "2025-03-10", (
        ("Wine club e-commerce", "Development", 5), ("Intranet refresh", "Development", 3))),
    MemberSpec("Priya Sharma", MemberKind.CONTRACTOR, "85", "175", "2025-06-02", (
        ("Booking app", "UX research", 4), ("Brand refresh", "Brand strategy", 3),
        ("Online store rebuild", "Discovery", 1))),
    MemberSpec("Tom Kelly", MemberKind.CONTRACTOR, "70", "130", "2025-08-11", (
        ("Brand refresh", "Copywriting", 4), ("Wine club e-commerce", "SEO", 3)),
        weekdays=(0, 2, 3)),
)
ADMIN_MEMBER = "Isla Robinson"  # also signs in, as a workspace admin
BILLING_CONTRACTOR = "Lachlan Murphy"  # sends the business a bill for his hours

ITEMS = (
    # code, name, description, sale price, purchase price
    ("DEV-HR", "Development", "Web and app development, per hour", "185", None),
    ("DES-HR", "Design", "UX and visual design, per hour", "160", None),
    ("PM-HR", "Project management", "Project management and client meetings, per hour", "150", None),
    ("SEO-AUDIT", "SEO audit", "Technical SEO audit with a prioritised report, fixed price", "1450", None),
    ("HOSTING", "Managed hosting", "Managed hosting and monitoring, per month", "120", "60"),
)

NOTES = {
    "Discovery": ("Stakeholder interviews", "Competitor review", "Requirements workshop"),
    "Design": ("Homepage wireframes", "Checkout flow mock-ups", "Design system tokens", "Mobile layouts"),
    "Development": ("Product listing API", "Payment gateway integration", "Fix cart rounding bug",
                    "Code review", "Booking calendar component", "Deploy to staging"),
    "Testing": ("Regression test pass", "Cross-browser checks", "Accessibility audit fixes"),
    "Project management": ("Weekly status call", "Sprint planning", "Client check-in and notes"),
    "UX research": ("Patient journey interviews", "Usability test round", "Survey analysis"),
    "Content migration": ("Migrate policy pages", "Clean up legacy documents", "Redirect map"),
    "Training": ("Staff training session", "Accessibility course", "Knowledge base write-up"),
    "Brand strategy": ("Brand positioning workshop", "Audience personas"),
    "Visual identity": ("Logo concepts", "Colour palette and type", "Signage mock-ups"),
    "Copywriting": ("Service page copy", "Email newsletter draft", "Tone of voice guide"),
    "SEO": ("Keyword research", "Meta descriptions", "Search console review"),
    "Admin": ("Timesheets and email", "Team meeting", "Tooling updates"),
    "Sales & proposals": ("Proposal for Brisbane Bike Works", "Quote for Fremantle Marine"),
}


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class DemoSummary:
    """What the demo command prints: where to sign in and what was built."""

    workspace_id: str
    workspace_name: str
    created: bool  # False when an existing demo workspace was reused
    email: str
    password: str
    api_token: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Cast:
    """The rows later steps refer to by name."""

    workspace_id: str
    tax_rates: dict[str, Decimal] = field(default_factory=dict)
    work_types: dict[str, WorkType] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    tasks: dict[tuple[str, str], Task] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)


# --------------------------------------------------------------------------- entry points


def demo_today() -> date:
    """Today in Sydney, where the demo business is; the host's date if no tz data exists."""
    try:
        return datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()
    except ZoneInfoNotFoundError:
        return date.today()


def demo_window(today: date) -> tuple[date, date]:
    """The first and last day with time entries: four weeks ending with this week, no future."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=WEEKS - 1), min(today, monday + timedelta(days=4))


def build_demo(
    session: Session, *, reset: bool = False, today: date | None = None, seed: int = DEFAULT_SEED
) -> DemoSummary:
    """Build the demo workspace, or reuse the one already there (``reset`` rebuilds it).

    Each call replaces the demo API token: only a token's hash is stored, so the previous
    one cannot be shown again.
    """
    existing = find_demo_workspace(session)
    if existing is not None and reset:
        delete_workspace(session, existing.id)
        existing = None
    created = existing is None
    workspace = _build(session, today or demo_today(), random.Random(seed)) if created else existing
    assert workspace is not None
    if not created:
        fill_personal_details(session, workspace.id)
    owner = users.find_user(session, DEMO_EMAIL)
    assert owner is not None
    token = _replace_demo_token(session, workspace.id, owner.id)
    return DemoSummary(
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        created=created,
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        api_token=token,
        counts=demo_counts(session, workspace.id),
    )


def find_demo_workspace(session: Session) -> Workspace | None:
    """The demo workspace: its name *and* the demo login as owner, so a real workspace
    that happens to share the name is never reused or deleted."""
    return session.scalar(
        select(Workspace)
        .join(WorkspaceUser, WorkspaceUser.workspace_id == Workspace.id)
        .join(User, User.id == WorkspaceUser.user_id)
        .where(
            Workspace.name == DEMO_WORKSPACE_NAME,
            User.email == DEMO_EMAIL,
            WorkspaceUser.role == Role.OWNER,
        )
        .order_by(Workspace.created_at)
        .limit(1)
    )


def delete_workspace(session: Session, workspace_id: str) -> None:
    """Delete a workspace and every row scoped to it, children before parents.

    Relying on ``ON DELETE CASCADE`` from the workspace alone is not enough: rows inside
    the workspace point at each other with ``RESTRICT`` (an invoice at its client), and
    PostgreSQL checks those as the cascade reaches each row, in no promised order. Users
    are shared between workspaces and are kept.
    """
    for table in reversed(Base.metadata.sorted_tables):
        if table.name != Workspace.__tablename__ and "workspace_id" in table.c:
            session.execute(delete(table).where(table.c.workspace_id == workspace_id))
    session.execute(delete(Workspace).where(Workspace.id == workspace_id))
    session.expire_all()


def demo_counts(session: Session, workspace_id: str) -> dict[str, int]:
    """Rows per kind in the workspace, for the summary the CLI prints."""
    models: dict[str, type[Base]] = {
        "members": Member, "clients": Client, "projects": Project, "tasks": Task,
        "time entries": TimeEntry, "invoices and bills": Invoice, "payments": Payment,
        "items": Item,
    }
    counts: dict[str, int] = {}
    for name, model in models.items():
        scope = model.workspace_id == workspace_id  # type: ignore[attr-defined]
        counts[name] = session.scalar(select(func.count()).select_from(model).where(scope)) or 0
    return counts


def is_valid_abn(abn: str) -> bool:
    """The ATO check: subtract 1 from the first digit; the weighted sum divides by 89."""
    digits = [int(c) for c in abn if c.isdigit()]
    if len(digits) != 11 or digits[0] == 0:
        return False
    digits[0] -= 1
    return sum(d * w for d, w in zip(digits, ABN_WEIGHTS, strict=True)) % 89 == 0


# --------------------------------------------------------------------------- building


def _build(session: Session, today: date, rng: random.Random) -> Workspace:
    workspace = users.create_workspace(session, DEMO_WORKSPACE_NAME, DEMO_CURRENCY)
    workspace.timezone = DEMO_TIMEZONE
    cast = _Cast(workspace_id=workspace.id)
    _add_owner(session, workspace.id)
    _add_reference_data(session, cast)
    _add_clients(session, cast, rng)
    _add_projects(session, cast)
    _add_members(session, cast)
    _add_items(session, cast)
    _add_time_entries(session, cast, rng, today)
    _add_invoices(session, cast, today)
    session.flush()
    return workspace


def _add_owner(session: Session, workspace_id: str) -> None:
    """The documented demo login. A user left behind by an earlier demo gets its password back."""
    existing = users.find_user(session, DEMO_EMAIL)
    password = None if existing is not None else DEMO_PASSWORD
    user = users.add_to_workspace(session, workspace_id, DEMO_EMAIL, "Alex Morgan", Role.OWNER, password)
    if existing is not None:
        users.set_password(session, user, DEMO_PASSWORD)
        user.active = True


def _add_reference_data(session: Session, cast: _Cast) -> None:
    for tax_type, name, rate in TAX_RATES:
        session.add(TaxRate(workspace_id=cast.workspace_id, tax_type=tax_type, name=name,
                            rate_percent=Decimal(rate)))
        cast.tax_rates[tax_type] = Decimal(rate)
    for name in WORK_TYPES:
        cast.work_types[name] = WorkType(workspace_id=cast.workspace_id, name=name)
    session.add_all(cast.work_types.values())


def _add_clients(session: Session, cast: _Cast, rng: random.Random) -> None:
    for spec in CLIENTS:
        cast.clients[spec.name] = Client(
            workspace_id=cast.workspace_id, name=spec.name,
            is_customer=spec.customer, is_supplier=spec.supplier,
            first_name=spec.contact[0], last_name=spec.contact[1], email=spec.email,
            phone=spec.phone, address_line1=spec.street, city=spec.city, region=spec.region,
            postal_code=spec.postcode, country="AU", tax_number=_abn(rng),
            currency=DEMO_CURRENCY, archived=spec.archived,
        )
    session.add_all(cast.clients.values())
    session.flush()


def _add_projects(session: Session, cast: _Cast) -> None:
    for spec in PROJECTS:
        client = cast.clients[spec.client] if spec.client else None
        project = Project(
            workspace_id=cast.workspace_id, name=spec.name, code=spec.code,
            client_id=client.id if client else None,
            bill_rate=Decimal(spec.bill_rate) if spec.bill_rate else None,
        )
        session.add(project)
        session.flush()
        cast.projects[spec.name] = project
        for task_name in spec.tasks:
            task = Task(workspace_id=cast.workspace_id, project_id=project.id, name=task_name,
                        billable=client is not None)
            session.add(task)
            cast.tasks[(spec.name, task_name)] = task
    session.flush()


def _add_members(session: Session, cast: _Cast) -> None:
    for spec in MEMBERS:
        member = Member(
            workspace_id=cast.workspace_id, name=spec.name, email=spec.email, kind=spec.kind,
            cost_rate=Decimal(spec.cost_rate), bill_rate=Decimal(spec.bill_rate),
            start_date=date.fromisoformat(spec.started),
        )
        _personal_details(member, spec)
        if spec.name == ADMIN_MEMBER:
            member.user_id = users.add_to_workspace(
                session, cast.workspace_id, spec.email, spec.name, Role.ADMIN, None
            ).id
        cast.members[spec.name] = member
    session.add_all(cast.members.values())
    session.flush()


def _personal_details(member: Member, spec: MemberSpec) -> None:
    """An employee's date of birth and home address, as Xero Payroll requires of them."""
    if spec.born is not None:
        member.date_of_birth = date.fromisoformat(spec.born)
    if spec.home is not None:
        member.address_line1, member.city, member.region, member.postal_code = spec.home
        member.country = "AU"


def fill_personal_details(session: Session, workspace_id: str) -> int:
    """Give the demo's employees their personal details where they have none (a demo
    workspace built before members held them); how many members were filled in."""
    specs = {spec.name: spec for spec in MEMBERS if spec.born is not None}
    filled = 0
    for member in session.scalars(select(Member).where(
        Member.workspace_id == workspace_id, Member.name.in_(specs), Member.date_of_birth.is_(None),
        Member.address_line1.is_(None),
    )):
        _personal_details(member, specs[member.name])
        filled += 1
    session.flush()
    return filled


def _add_items(session: Session, cast: _Cast) -> None:
    for code, name, description, sale, purchase in ITEMS:
        session.add(Item(
            workspace_id=cast.workspace_id, code=code, name=name, description=description,
            is_sold=True, is_purchased=purchase is not None,
            sale_unit_price=Decimal(sale), sale_account_code=SALES_ACCOUNT, sale_tax_type=SALES_TAX,
            purchase_unit_price=Decimal(purchase) if purchase else None,
            purchase_account_code=HOSTING_ACCOUNT if purchase else None,
            purchase_tax_type=PURCHASE_TAX if purchase else None,
        ))


def _abn(rng: random.Random) -> str:
    """A random ABN with valid check digits, formatted the usual way (51 824 753 556)."""
    while True:
        digits = "".join(str(rng.randint(1 if i == 0 else 0, 9)) for i in range(11))
        if is_valid_abn(digits):
            return f"{digits[:2]} {digits[2:5]} {digits[5:8]} {digits[8:]}"


# --------------------------------------------------------------------------- time entries


def _weekdays(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def _add_time_entries(session: Session, cast: _Cast, rng: random.Random, today: date) -> list[TimeEntry]:
    """A month of weekdays: employees log start/end times with a lunch break, contractors
    log durations; last week and earlier is mostly approved, this week is not yet."""
    first, last = demo_window(today)
    this_monday = today - timedelta(days=today.weekday())
    entries: list[TimeEntry] = []
    for day in _weekdays(first, last):
        for spec in MEMBERS:
            if day.weekday() not in spec.weekdays or rng.random() < 0.04:  # leave, sick days
                continue
            for entry in _member_day(cast, spec, day, rng):
                entry.approved = day < this_monday and rng.random() < 0.92
                entries.append(entry)
    session.add_all(entries)
    session.flush()
    return entries


def _member_day(cast: _Cast, spec: MemberSpec, day: date, rng: random.Random) -> list[TimeEntry]:
    employee = spec.kind is MemberKind.EMPLOYEE
    target = rng.choice((450, 465, 480) if employee else (360, 420, 450, 480))
    blocks = _split(target, rng.choice((1, 2, 2, 3)), rng)
    work = rng.choices(spec.work, weights=[w for _, _, w in spec.work], k=len(blocks))
    entries = [
        _entry(cast, spec, day, project, task, minutes, ORDINARY, rng)
        for (project, task, _), minutes in zip(work, blocks, strict=True)
    ]
    if employee:
        _lay_out_day(entries, rng)
        if rng.random() < 0.08:  # a late finish before a deadline
            project, task, _ = spec.work[0]
            overtime = _entry(cast, spec, day, project, task, rng.choice((60, 90, 120)), OVERTIME, rng)
            _place(overtime, _minutes(entries[-1].end_time), overtime.duration_minutes or 0, 0)
            entries.append(overtime)
    return entries


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` minutes in ``parts`` blocks of whole quarter hours, none under an hour."""
    quarters = total // 15
    sizes = [quarters // parts] * parts
    sizes[-1] += quarters - sum(sizes)
    for i in range(parts - 1):
        shift = rng.randint(-(sizes[i] // 3), sizes[i] // 3)
        if sizes[i] + shift >= 4 and sizes[i + 1] - shift >= 4:
            sizes[i] += shift
            sizes[i + 1] -= shift
    return [q * 15 for q in sizes]


def _entry(
    cast: _Cast, spec: MemberSpec, day: date, project: str, task_name: str, minutes: int,
    work_type: str, rng: random.Random,
) -> TimeEntry:
    task = cast.tasks[(project, task_name)]
    billable = task.billable and rng.random() > 0.05  # now and then, rework is written off
    return TimeEntry(
        workspace_id=cast.workspace_id, member_id=cast.members[spec.name].id, task_id=task.id,
        work_type_id=cast.work_types[work_type].id, date=day, duration_minutes=minutes,
        break_minutes=0, billable=billable, approved=False,
        notes=rng.choice(NOTES[task_name]) if rng.random() < 0.8 else None,
    )


def _lay_out_day(entries: Sequence[TimeEntry], rng: random.Random) -> None:
    """Turn durations into start and end times; the block spanning 12:30 carries lunch."""
    start = rng.choice((8 * 60, 8 * 60 + 30, 9 * 60))
    lunch_taken = False
    for entry in entries:
        worked = entry.duration_minutes or 0
        lunch = 30 if not lunch_taken and (start + worked > 12 * 60 + 30 or entry is entries[-1]) else 0
        lunch_taken = lunch_taken or lunch > 0
        _place(entry, start, worked, lunch)
        start += worked + lunch


def _place(entry: TimeEntry, start: int, worked: int, break_minutes: int) -> None:
    entry.start_time = _clock(start)
    entry.end_time = _clock(start + worked + break_minutes)
    entry.break_minutes = break_minutes
    entry.duration_minutes = None


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _minutes(value: time | None) -> int:
    assert value is not None
    return value.hour * 60 + value.minute


# --------------------------------------------------------------------------- invoices


@dataclass(frozen=True)
class _DraftLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str
    entries: tuple[TimeEntry, ...] = ()


def _add_invoices(session: Session, cast: _Cast, today: date) -> None:
    """Three sales invoices (paid, approved, draft), a contractor's bill and a hosting bill.

    The agency's invoice numbers are in the 480s, clear of the numbers Xero's demo company
    uses (INV-0001 on), so the tour can send them to the sandbox without a clash.

    Invoices are built from approved billable hours by ``invoicing``; each hour is charged
    to a client once (``invoice_line_id``) and a contractor's hour is paid once (``bill_line_id``).
    """
    first, _ = demo_window(today)
    fortnight, three_weeks = first + timedelta(days=11), first + timedelta(days=18)
    paid = _sales_invoice(session, cast, "INV-0481", "Online store rebuild",
                          (first, fortnight), fortnight, InvoiceStatus.PAID)
    _sales_invoice(session, cast, "INV-0482", "Booking app",
                   (first, three_weeks), three_weeks, InvoiceStatus.APPROVED)
    _sales_invoice(session, cast, "INV-0483", "Brand refresh",
                   (first, three_weeks), today, InvoiceStatus.DRAFT)
    _contractor_bill(session, cast, (first, three_weeks), three_weeks)
    _hosting_bill(session, cast, first + timedelta(days=2))
    if paid is not None:
        _pay_in_full(session, cast, paid, min(fortnight + timedelta(days=10), today))


DEMO_DEFAULTS = invoicing.InvoiceDefaults(
    revenue_account_code=SALES_ACCOUNT,
    expense_account_code=CONTRACTOR_ACCOUNT,
    default_tax_type=SALES_TAX,
    due_date_offset_days=14,
)
"""The settings the demo organisation would have: what ``invoicing`` builds with."""


def _sales_invoice(
    session: Session, cast: _Cast, number: str, project_name: str,
    period: tuple[date, date], issued: date, status: InvoiceStatus,
) -> Invoice | None:
    """The project's approved billable hours, one line per task, through ``invoicing`` (the
    same way the API and the CLI build invoices from hours)."""
    project = cast.projects[project_name]
    request = invoicing.TimeInvoiceRequest(
        date_from=period[0], date_to=period[1], client_id=project.client_id, project_id=project.id,
        group_by=invoicing.GroupBy.TASK, issue_date=issued, reference=f"{project.code} {project.name}",
    )
    return _save_hours(session, cast, request, number, status)


def _contractor_bill(
    session: Session, cast: _Cast, period: tuple[date, date], issued: date
) -> None:
    """The contractor bills the business at cost for approved hours no bill holds yet."""
    request = invoicing.TimeInvoiceRequest(
        date_from=period[0], date_to=period[1], member_id=cast.members[BILLING_CONTRACTOR].id,
        group_by=invoicing.GroupBy.PROJECT, issue_date=issued, reference="Contract hours",
    )
    _save_hours(session, cast, request, "LM-0412", InvoiceStatus.APPROVED)


def _save_hours(
    session: Session, cast: _Cast, request: invoicing.TimeInvoiceRequest, number: str, status: InvoiceStatus
) -> Invoice | None:
    try:
        draft = invoicing.draft_invoice(session, cast.workspace_id, request, DEMO_DEFAULTS)
    except ValidationFailed:
        return None  # no hours to invoice in this window (a short demo month)
    paid = status is InvoiceStatus.PAID
    invoice = invoicing.save_draft(
        session, draft, number=number, status=InvoiceStatus.APPROVED if paid else status
    )
    if paid:
        invoice.status = InvoiceStatus.PAID  # its payment is added next (``_pay_in_full``)
    return invoice


def _hosting_bill(session: Session, cast: _Cast, issued: date) -> None:
    lines = [
        _DraftLine("Managed hosting: production cluster, monthly", Decimal(1), Decimal("420"),
                   HOSTING_ACCOUNT, PURCHASE_TAX),
        _DraftLine("Managed hosting: staging environments, monthly", Decimal(3), Decimal("60"),
                   HOSTING_ACCOUNT, PURCHASE_TAX),
    ]
    _save_invoice(
        session, cast, lines, kind=InvoiceKind.BILL, number="SCH-20931", status=InvoiceStatus.DRAFT,
        issued=issued, due=issued + timedelta(days=30),
        client_id=cast.clients["Sydney Cloud Hosting Pty Ltd"].id, reference="Hosting",
    )


def _save_invoice(
    session: Session, cast: _Cast, lines: list[_DraftLine], *, kind: InvoiceKind, number: str,
    status: InvoiceStatus, issued: date, due: date, reference: str,
    client_id: str | None = None, member_id: str | None = None,
) -> Invoice | None:
    """Insert the invoice and its lines, then point each source time entry at its line."""
    if not lines:
        return None
    invoice = Invoice(
        workspace_id=cast.workspace_id, kind=kind, status=status, number=number,
        reference=reference, issue_date=issued, due_date=due, currency=DEMO_CURRENCY,
        line_amount_type=LineAmountType.EXCLUSIVE, client_id=client_id, member_id=member_id,
    )
    invoice.lines = [
        InvoiceLine(position=i, description=line.description, quantity=line.quantity,
                    unit_amount=line.unit_amount, account_code=line.account_code,
                    tax_type=line.tax_type, tracking=[])
        for i, line in enumerate(lines)
    ]
    session.add(invoice)
    session.flush()
    for line, row in zip(lines, invoice.lines, strict=True):
        for entry in line.entries:
            entry.invoice_line_id = row.id
    session.flush()
    return invoice


def _pay_in_full(session: Session, cast: _Cast, invoice: Invoice, paid_on: date) -> None:
    total = document_totals(
        (PricedLine(line.quantity, line.unit_amount, cast.tax_rates[line.tax_type or ""])
         for line in invoice.lines),
        invoice.line_amount_type,
    ).total
    session.add(Payment(workspace_id=cast.workspace_id, invoice_id=invoice.id, date=paid_on,
                        amount=total, account_code=BANK_ACCOUNT, reference=f"EFT {invoice.number}"))


# --------------------------------------------------------------------------- the API token


def _replace_demo_token(session: Session, workspace_id: str, user_id: str) -> str:
    """Revoke earlier demo tokens and issue a new one, whose plain value the CLI prints."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.workspace_id == workspace_id, ApiToken.name == DEMO_TOKEN_NAME,
               ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    _, token = users.create_api_token(session, workspace_id, user_id, DEMO_TOKEN_NAME, None)
    return token


__all__ = [
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DEMO_WORKSPACE_NAME",
    "DemoSummary",
    "build_demo",
    "delete_workspace",
    "demo_counts",
    "demo_today",
    "demo_window",
    "fill_personal_details",
    "find_demo_workspace",
    "is_valid_abn",
]
