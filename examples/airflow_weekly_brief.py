"""Airflow DAG: the openbrief weekly brief, Mondays at 06:00 UTC.

Copy this file into the DAGs folder and set ``OPENBRIEF_HOME`` below (or the Airflow Variable
``openbrief_home``) to an openbrief checkout on the worker on which ``make setup`` has run once.

Exit codes (``openbrief.errors``) and what this DAG does with them:

====  ============================================================  ===========================
code  meaning                                                       here
====  ============================================================  ===========================
0     success: the last stdout line is the PDF path (pushed to XCom) task succeeds
2     bad parameter or input                                        fails at once
3     data source unavailable: Hub unreachable, rate limit, budget  retried, see below
4     notebook execution failed (briefs/_failed/ has the notebook)  fails at once
5     rendering the PDF failed                                      fails at once
6     another run holds the lock (after --lock-timeout)            fails at once
7     writing failed (disk full, permissions); nothing half-written fails at once
====  ============================================================  ===========================

Why the retry loop is in the shell: Airflow's ``retries`` are per task and apply to *every*
failure; BashOperator cannot tell exit 3 from exit 4 (its ``skip_on_exit_code``, default 99,
only turns chosen codes into "skipped"; openbrief never exits 99).  Retrying a broken notebook
or a bad parameter only repeats the failure and, with ``--live``, spends Hub requests, so the
task has ``retries=0`` and the command itself retries exit 3 only, twice, 15 minutes apart.
(The TaskFlow alternative at the bottom uses Airflow's own retries instead, by raising
``AirflowFailException`` for the codes that must not be retried.)

The Hub token: store it as the Airflow Variable ``hf_token`` (or in a secrets backend).  Airflow
masks the values of Variables whose name contains "token" in task logs and rendered fields.  It
reaches openbrief through the environment only, never on the command line and never as a
notebook parameter (openbrief refuses those).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow import DAG

try:  # Airflow 3: the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

OPENBRIEF_HOME = "{{ var.value.get('openbrief_home', '/srv/openbrief') }}"

# Retries exit 3 (data source unavailable) only; every other exit code fails the task at once.
# (Jinja renders this command: it holds no '{{' or '{%' of its own.)
BUILD_WEEKLY = """
set -u
cd "$OPENBRIEF_HOME"
for attempt in 1 2 3; do
    .venv/bin/openbrief build weekly --live --quiet
    code=$?
    if [ "$code" -ne 3 ] || [ "$attempt" -eq 3 ]; then
        exit "$code"
    fi
    echo "openbrief: the Hub is unavailable (exit 3), attempt $attempt of 3: trying again in 15 minutes" >&2
    sleep 900
done
"""

with DAG(
    dag_id="openbrief_weekly_brief",
    description="Fetch a Hub snapshot and build the weekly open-weight AI adoption brief",
    schedule="0 6 * * 1",  # Mondays 06:00, in UTC as start_date is
    start_date=datetime(2026, 1, 5, tzinfo=timezone.utc),
    catchup=False,  # a brief is about the Hub *now*: never backfill missed weeks
    max_active_runs=1,  # openbrief also locks the briefs folder; this avoids queueing behind it
    default_args={"owner": "openbrief", "retries": 0},
    tags=["openbrief"],
) as dag:
    build_weekly = BashOperator(
        task_id="build_weekly_brief",
        bash_command=BUILD_WEEKLY,
        env={
            "OPENBRIEF_HOME": OPENBRIEF_HOME,
            "HF_TOKEN": "{{ var.value.get('hf_token', '') }}",  # '' = anonymous
        },
        append_env=True,  # keep PATH, HOME, HF_HOME, ... of the worker
        execution_timeout=timedelta(hours=2),
        do_xcom_push=True,  # the PDF path, for a downstream "publish" task
    )


# --- Alternative 1: Airflow's own retries, fail-fast on the other codes (TaskFlow) -------------
#
# from airflow.decorators import task                  # Airflow 3: from airflow.sdk import task
# from airflow.exceptions import AirflowException, AirflowFailException
#
# @task(retries=2, retry_delay=timedelta(minutes=15), execution_timeout=timedelta(hours=2))
# def build_weekly_brief() -> str:
#     import os, subprocess
#     from airflow.models import Variable
#     home = Variable.get("openbrief_home", "/srv/openbrief")
#     env = {**os.environ, "HF_TOKEN": Variable.get("hf_token", "")}
#     run = subprocess.run([f"{home}/.venv/bin/openbrief", "build", "weekly", "--live", "--quiet"],
#                          cwd=home, env=env, capture_output=True, text=True)
#     print(run.stderr)
#     if run.returncode == 3:          # data source unavailable: let Airflow retry
#         raise AirflowException(run.stderr.strip().splitlines()[-1])
#     if run.returncode != 0:          # anything else: retrying would not help
#         raise AirflowFailException(f"openbrief exited {run.returncode}: {run.stderr.strip().splitlines()[-1]}")
#     return run.stdout.strip().splitlines()[-1]   # the PDF path
#
#
# --- Alternative 2: PapermillOperator (apache-airflow-providers-papermill) ---------------------
#
# Executes notebooks/weekly.ipynb directly.  It bypasses openbrief's parameter checks, its lock,
# the temporary folder + rename, briefs/_failed/ and the PDF: use it only for the executed
# notebook, after a separate `openbrief fetch --quiet` task, and pass parameters openbrief declares
# (`openbrief params weekly`).  Never pass a token as a parameter.
#
# from airflow.providers.papermill.operators.papermill import PapermillOperator
#
# fetch = BashOperator(task_id="fetch", bash_command='cd "$OPENBRIEF_HOME" && .venv/bin/openbrief fetch --quiet',
#                      env={"OPENBRIEF_HOME": OPENBRIEF_HOME, "HF_TOKEN": "{{ var.value.get('hf_token', '') }}"},
#                      append_env=True)
# weekly_notebook = PapermillOperator(
#     task_id="weekly_notebook",
#     input_nb="/srv/openbrief/notebooks/weekly.ipynb",
#     output_nb="/srv/openbrief/briefs/notebooks/weekly-{{ ts_nodash }}.ipynb",
#     parameters={"snapshot": "latest", "store": "/srv/openbrief/store", "window": 7},
#     kernel_name="openbrief",
# )
# fetch >> weekly_notebook
