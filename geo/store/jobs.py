"""Plan jobs (``plan_job``): queued by the API, claimed, reported on and finished by the job runner.

SQLAlchemy Core on the model's table, values as bound parameters. Two database features carry
the design (``geo.services.job_runner``):

- the runner claims the oldest queued job with ``FOR UPDATE SKIP LOCKED``, so a claim never waits
  on a row another transaction holds (a cancel in flight) and no job is claimed twice;
- the runner holds a session-level advisory lock (``RUNNER_LOCK``) for as long as it lives. Only
  one runner per database holds it, so the runner that takes it knows that every job still
  ``running`` was left by a runner that died, and may fail it; and the lock goes with the
  runner's connection, however the process ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, case, func, insert, select, update
from sqlalchemy.orm import Session

from geo.store.models import PlanJob
from geo.store.scope import city_of, in_scope

JOB = cast(Table, PlanJob.__table__)
ACTIVE = ("queued", "running")
# The job runner's advisory lock: one 64-bit key for the project ("umjobrun" in ASCII).
RUNNER_LOCK = 0x756D6A6F6272756E


def create_job(session: Session, *, parameters: dict[str, Any], created_by: str, key_id: int | None) -> int:
    """Queue a job for the session's city; its id."""
    return int(session.execute(insert(JOB).values(parameters=parameters, created_by=created_by, key_id=key_id,
                                                  region_code=city_of(session))
                               .returning(JOB.c.id)).scalar_one())


def active_jobs_of(session: Session, key_id: int | None) -> int:
    """How many jobs of this API key are queued or running."""
    return int(session.execute(select(func.count()).select_from(JOB)
                               .where(JOB.c.key_id == key_id, JOB.c.status.in_(ACTIVE))).scalar_one())


def get_job(session: Session, job_id: int) -> dict[str, Any] | None:
    """The job's row with ``now`` (the database's clock, for elapsed times), or None (none of the session's region)."""
    row = session.execute(select(JOB, func.now().label("now")).where(JOB.c.id == job_id, in_scope(JOB, session))
                          ).mappings().one_or_none()
    return None if row is None else dict(row)


def request_cancel(session: Session, job_id: int) -> str | None:
    """Cancel a queued job at once, or ask its runner to stop a running one; the job's status
    after this, or None when it has already finished (or does not exist)."""
    queued = JOB.c.status == "queued"
    status = session.execute(
        update(JOB).where(JOB.c.id == job_id, JOB.c.status.in_(ACTIVE), in_scope(JOB, session))
        .values(status=case((queued, "cancelled"), else_=JOB.c.status),
                finished_at=case((queued, func.now()), else_=JOB.c.finished_at),
                cancel_requested_at=func.coalesce(JOB.c.cancel_requested_at, func.now()))
        .returning(JOB.c.status)).scalar_one_or_none()
    return None if status is None else str(status)


def claim_next(session: Session, *, runner_pid: int) -> dict[str, Any] | None:
    """Mark the oldest queued job (of any region: one runner serves the deployment) running for
    this runner; its id, region, parameters and author, or None."""
    oldest = (select(JOB.c.id).where(JOB.c.status == "queued").order_by(JOB.c.id).limit(1)
              .with_for_update(skip_locked=True).scalar_subquery())
    row = session.execute(
        update(JOB).where(JOB.c.id == oldest)
        .values(status="running", started_at=func.now(), runner_pid=runner_pid)
        .returning(JOB.c.id, JOB.c.region_code, JOB.c.parameters, JOB.c.created_by)).mappings().one_or_none()
    return None if row is None else dict(row)


def set_solver_pid(session: Session, job_id: int, pid: int) -> None:
    """Record the process that solves the job."""
    session.execute(update(JOB).where(JOB.c.id == job_id).values(solver_pid=pid))


def record_progress(session: Session, job_id: int, *, incumbent: float | None, bound: float,
                    history: Sequence[Sequence[float | None]]) -> None:
    """The solver's latest incumbent and bound, and the series so far ([seconds, incumbent, bound] each)."""
    session.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.status == "running")
                    .values(incumbent=incumbent, bound=bound, history=[list(point) for point in history]))


def cancel_requested(session: Session, job_ids: Sequence[int]) -> set[int]:
    """Which of these jobs someone asked to cancel."""
    return set(session.scalars(select(JOB.c.id).where(JOB.c.id.in_(list(job_ids)),
                                                      JOB.c.cancel_requested_at.is_not(None))))


def finish(session: Session, job_id: int, *, status: str, result: dict[str, Any] | None = None,
           error: str | None = None) -> None:
    """End a running job: ``succeeded``, ``failed`` or ``cancelled``, with its plan or its reason."""
    session.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.status == "running")
                    .values(status=status, result=result, error=error, finished_at=func.now()))


def fail_running(session: Session, reason: str, *, job_ids: Sequence[int] | None = None) -> list[int]:
    """Fail the running jobs (those of ``job_ids``, or every one) with ``reason``; their ids."""
    condition = JOB.c.status == "running"
    if job_ids is not None:
        condition = condition & JOB.c.id.in_(list(job_ids))
    return list(session.scalars(update(JOB).where(condition)
                                .values(status="failed", error=reason, finished_at=func.now())
                                .returning(JOB.c.id)))


def take_runner_lock(connection: Connection) -> bool:
    """Take the runner's advisory lock on this connection (held until it closes); False if another has it."""
    return bool(connection.execute(select(func.pg_try_advisory_lock(RUNNER_LOCK))).scalar_one())


def check_connection(connection: Connection) -> None:
    """A round trip on the runner's lock connection: raises if the database has closed it (and so the lock)."""
    connection.execute(select(1))
