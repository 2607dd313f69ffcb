"""Apache Airflow provider for pg_trickle (Airflow 2.11 and 3.x)."""

__version__ = "0.2.0"
