"""What the Airflow DAGs run: supervisor decisions (pure), detached job launching, Airflow connections mapped to
settings, and the task callables of the thresholds, backfill and data-quality DAGs."""
