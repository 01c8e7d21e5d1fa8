"""Background tasks of the program (run by `manage.py db_worker`)."""

from django_tasks import task

from kopilka.program.services import simulation_run


@task()
def program_simulation(simulation_id: int) -> int:
    """Do a requested what-if run; returns its id."""
    return simulation_run(simulation_id=simulation_id).pk
