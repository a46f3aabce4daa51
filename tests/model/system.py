"""What the system does on its own, or an admin does to the connection: scheduled syncs,
Force sync from the API and the page, webhooks (on time, late, twice or lost), two
workers at once, a worker dying mid-push, Xero's faults, a second organisation,
Disconnect and reconnect, Migrate, and the quiet sync after which both sides must agree."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select

from ledgerbridge.jobs import queue
from ledgerbridge.jobs.scheduler import sync_lock_key
from ledgerbridge.sync.models import RecordType, RunStatus, SyncIssue, SyncRun, XeroLink
from tests.model import invariants
from tests.model.walk import Walk, action
from tests.model.world import AU, NZ, Organisation


class System(Walk):
    def _schedule_sync(self, org: Organisation) -> None:
        """The organisation's scheduled sync falls due now, as the scheduler queues it."""
        with self.world.database.session() as session:
            queue.enqueue(
                session,
                "sync.auto",
                {"connection_id": org.connection_id},
                workspace_id=self.world.seeded.workspace_id,
                lock_key=sync_lock_key(org.connection_id),
                run_at=self.world.clock.utcnow(),
            )

    @action(pick=st.integers(0, 3))
    def force_sync(self, pick: int) -> None:
        self._act("Force sync")
        self._sync(self._org(pick), "Force sync")

    @action(pick=st.integers(0, 3))
    def scheduled_sync(self, pick: int) -> None:
        self._act("scheduled sync")
        org = self._org(pick)
        self._schedule_sync(org)
        self.world.run_jobs()

    @action(how=st.sampled_from(["on time", "twice", "lost"]))
    def webhooks(self, how: str) -> None:
        """Xero's pending events arrive (those held back by earlier steps arrive late),
        arrive twice, or are lost for good."""
        self._act(f"webhooks {how}")
        if how == "lost":
            self.world.lose_webhooks()
            return
        self.world.deliver_webhooks()
        self.world.run_jobs()
        if how == "twice" and self.world.delivered:
            self.world.redeliver(self.world.delivered[-1])
            self.world.run_jobs()

    @action(pick=st.integers(0, 3), webhooks_first=st.booleans())
    def two_workers(self, pick: int, webhooks_first: bool) -> None:
        """Two workers take a scheduled sync and the pending webhooks while a person
        presses Force sync in the API: all three interleave at every call to Xero."""
        self._act("two workers and a Force sync at once")
        org = self._org(pick)
        self._schedule_sync(org)
        if webhooks_first:
            self.world.deliver_webhooks()
        self.world.concurrently(
            lambda: self.world.api("POST", f"/xero/connections/{org.connection_id}/sync", json={}),
            workers=2,
        )
        self.world.run_jobs()

    @action()
    def run_jobs(self) -> None:
        self._act("run jobs")
        self.world.run_jobs()

    @action(
        available=lambda self: self.faults, kind=st.sampled_from(["503", "500", "timeout", "lost response"])
    )
    def fault(self, kind: str) -> None:
        """Xero fails the next call; the walk then carries on as users would."""
        self._act(f"fault {kind}")
        faults: dict[str, Any] = {
            "503": {"fail_next": [503]},
            "500": {"fail_next": [500]},
            "timeout": {"timeout_next": 1, "timeout_mode": "raise"},
            "lost response": {"drop_after_commit_next": 1},
        }[kind]
        self.world.set_faults(self.au, **faults)
        self.faulty = True

    @action(available=lambda self: NZ not in self.world.orgs, workers=st.integers(1, 2))
    def connect_second_organisation(self, workers: int) -> None:
        """Connect NZ beside AU; its first sync runs on one worker, or on two at once."""
        self._act("connect a second organisation")
        org = self.world.connect(NZ)
        if workers == 1:
            self._sync(org, "second organisation's first sync")
        else:
            self.world.concurrently(
                lambda: self.world.api("POST", f"/xero/connections/{org.connection_id}/sync", json={}),
                workers=2,
            )
            self.world.run_jobs()
        with self.world.database.session() as session:
            runs = session.scalars(select(SyncRun).where(SyncRun.connection_id == org.connection_id)).all()
            failed = [
                (r.trigger, r.status, r.counts, r.error) for r in runs if r.status != RunStatus.SUCCEEDED
            ]
            issues = session.scalars(
                select(SyncIssue).where(SyncIssue.connection_id == org.connection_id)
            ).all()
        assert not failed and not issues, (
            f"the second organisation's first sync failed where nothing was wrong: {failed} "
            f"{[i.message for i in issues][:5]}"
        )

    @action()
    def quiet_sync(self) -> None:
        """Faults clear, webhooks arrive, a full sync of every organisation: then the two
        sides must agree, or the sync log must say why not."""
        self._act("quiet sync")
        self.world.clear_faults()
        self.faulty = False
        self.world.deliver_webhooks()
        self.world.run_jobs()
        for org in list(self.world.orgs.values()):
            self._sync(org, "quiet sync")
        for org in list(self.world.orgs.values()):
            self._sync(org, "quiet sync, second pass")
        self._check(invariants.QUIET_CHECKS)
        self._sent_arrived()

    def _sent_arrived(self) -> None:
        """Every invoice sent via Xero, and every credit note and purchase order made here,
        is in Xero after a quiet sync: these walks make only valid documents, so a refusal
        (a clashing number, an unknown tax type) is a break, unless Xero refused it for a
        contact archived there and the sync log says so in Xero's words."""
        expected = dict.fromkeys(self.model.sent - self.model.deleted, RecordType.INVOICE)
        expected |= self.model.expected
        with self.world.database.session() as session:
            linked = set(session.execute(select(XeroLink.record_type, XeroLink.local_id)).tuples())
            issues = {
                i.local_id: i.message
                for i in session.scalars(select(SyncIssue).where(SyncIssue.resolved_at.is_(None)))
            }
        missing = {
            (str(kind), local_id): issues.get(local_id)
            for local_id, kind in expected.items()
            if (kind, local_id) not in linked
            and not (self.model.archived and "archived" in (issues.get(local_id) or "").lower())
        }
        assert not missing, f"documents that should be in Xero and never arrived: {missing}"

    @action(pick=st.integers(0, 3))
    def force_sync_page(self, pick: int) -> None:
        """Force sync from the Integrations page's button (a form, with its CSRF token)."""
        self._act("Force sync from the page")
        org = self._org(pick)
        answer = self.world.form("/integrations", f"/integrations/xero/{org.connection_id}/sync")
        assert answer.status_code in (302, 303), answer.text
        self.world.run_jobs()

    @action(calls=st.integers(0, 6), when=st.sampled_from(["before", "after"]), pick=st.integers(0, 3))
    def worker_dies(self, calls: int, when: str, pick: int) -> None:
        """A scheduled sync is due and a saved change waits; the worker's process dies at
        one of its calls to Xero (before the call leaves, or after Xero committed it and
        before the answer is read); a new worker takes over once the lease runs out."""
        org = self._org(pick)
        self._schedule_sync(org)
        died = self.world.crash_worker(calls, when)
        self._act(f"worker dies {when} a call" if died else "worker finishes (no call to die at)")

    @action(edit_while_away=st.booleans())
    def disconnect_and_reconnect(self, edit_while_away: bool) -> None:
        """Disconnect AU and connect it again (a new admin, a token reset); a client edited
        while it was disconnected still reaches Xero once it is back."""
        self._act("disconnect and reconnect")
        org = self.au
        answer = self.world.api("DELETE", f"/xero/connections/{org.connection_id}")
        assert answer.status_code == 200, answer.text
        if edit_while_away and self.model.local_client_emails:
            client_id = sorted(self.model.local_client_emails)[0]
            edited = self.world.api("PATCH", f"/clients/{client_id}", json={"email": "away@x.example.com"})
            assert edited.status_code in (200, 404, 409, 422), edited.text
            if edited.status_code == 200:
                self.model.local_client_emails[client_id] = "away@x.example.com"
        self.world.orgs.pop(AU)
        back = self.world.connect(AU)
        back.seeded, back.made_by_other = org.seeded, org.made_by_other
        self.world.orgs = {AU: back, **self.world.orgs}
        self._sync(back, "first sync after reconnecting")

    @action(pick=st.integers(0, 3), dry_run=st.booleans())
    def migrate(self, pick: int, dry_run: bool) -> None:
        """Migrate: records that belong to no organisation go to the chosen one; a second
        run changes nothing."""
        self._act("Migrate (preview)" if dry_run else "Migrate")
        org = self._org(pick)
        body: dict[str, Any] = {"connection_id": org.connection_id, "dry_run": dry_run}
        answer = self.world.api("POST", "/xero/migrate", json=body)
        assert answer.status_code == 200, answer.text
        if not dry_run:
            again = self.world.api("POST", "/xero/migrate", json=body)
            assert again.status_code == 200 and again.json()["changed"] == 0, (
                f"Migrate run twice changed {again.json().get('changed')} records the second time"
            )
            self.world.run_jobs()
