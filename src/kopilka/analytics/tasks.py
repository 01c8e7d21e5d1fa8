"""Background tasks of analytics (run by `manage.py db_worker`)."""

from django_tasks import task

from kopilka.analytics.services import snapshot_run
from kopilka.core.audit import Actor


@task()
def analytics_refresh(snapshot_id: int) -> int:
    """Fill a requested snapshot; returns its id."""
    return snapshot_run(snapshot_id=snapshot_id, actor=Actor.system("analytics_refresh")).pk
