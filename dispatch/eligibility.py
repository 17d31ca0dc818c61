"""Who may do which job: the hard matching rules, shared by the model and the explanations."""

from __future__ import annotations

from dispatch.problem import Job, Worker


def mismatches(job: Job, worker: Worker) -> list[str]:
    """Every hard rule ``worker`` breaks for ``job`` (empty when eligible).

    Codes: ``skill``, ``certificate``, ``gender``, ``language``, ``blocked``, ``provider``,
    ``capacity``, ``pinned``.
    """
    failed: list[str] = []
    if job.provider is not None and worker.provider is not None and job.provider != worker.provider:
        failed.append("provider")
    if not job.skills <= worker.skills.keys():
        failed.append("skill")
    if not job.certificates <= worker.certificates:
        failed.append("certificate")
    if job.required_gender is not None and worker.gender != job.required_gender:
        failed.append("gender")
    if job.required_language is not None and job.required_language not in worker.languages:
        failed.append("language")
    if worker.id in job.blocked_workers:
        failed.append("blocked")
    if abs(job.demand) > worker.capacity and job.demand != 0:
        failed.append("capacity")
    if job.pinned_worker is not None and job.pinned_worker != worker.id:
        failed.append("pinned")
    return failed


def eligible(job: Job, worker: Worker) -> bool:
    """Whether ``worker`` may do ``job``."""
    return not mismatches(job, worker)
