"""Airflow DAG: one `harden run` task per environment every night, then a drift check.

Copy to the Airflow dags folder on a worker that has harden installed in HARDEN_HOME. Each task's
exit code is harden's (0 GO, 1 NO-GO, 2 incomplete): a NO-GO fails the task, so Airflow's own
alerting (email, on_failure_callback) sees it; notify: webhooks in params still fire.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

HARDEN_HOME = "/opt/harden"
ENVIRONMENTS = ["staging", "production"]
#: One environment per task, so a slow or failing environment never holds up another.
RUN_COMMAND = "cd {home} && .venv/bin/harden run --env {env} --keep 60"
DRIFT_COMMAND = "cd {home} && .venv/bin/harden drift --env staging --env production"

with DAG(
    dag_id="harden_audit",
    schedule="30 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 0, "execution_timeout": timedelta(minutes=45)},
    tags=["security", "harden"],
) as dag:
    runs = [
        BashOperator(task_id=f"harden_{env}", bash_command=RUN_COMMAND.format(home=HARDEN_HOME, env=env))
        for env in ENVIRONMENTS
    ]
    drift = BashOperator(
        task_id="harden_drift",
        bash_command=DRIFT_COMMAND.format(home=HARDEN_HOME),
        trigger_rule="all_done",  # compare the latest runs even when one was NO-GO
    )
    runs >> drift
