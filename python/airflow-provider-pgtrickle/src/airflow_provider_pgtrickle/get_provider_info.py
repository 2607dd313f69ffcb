"""Provider metadata, found by Airflow through the ``apache_airflow_provider``
entry point (valid against Airflow's ``provider_info.schema.json``)."""

from __future__ import annotations

from typing import Any, Dict


def get_provider_info() -> Dict[str, Any]:
    return {
        "package-name": "airflow-provider-pgtrickle",
        "name": "pg_trickle",
        "description": "Create, alter, drop and refresh pg_trickle stream tables; wait for them "
        "to be fresh, healthy or in a given status.",
        "integrations": [
            {
                "integration-name": "pg_trickle",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "pg_trickle",
                "python-modules": ["airflow_provider_pgtrickle.operators"],
            }
        ],
        "sensors": [
            {
                "integration-name": "pg_trickle",
                "python-modules": ["airflow_provider_pgtrickle.sensors"],
            }
        ],
        "hooks": [
            {
                "integration-name": "pg_trickle",
                "python-modules": ["airflow_provider_pgtrickle.hooks"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_pgtrickle.hooks.PgTrickleHook",
                "connection-type": "pgtrickle",
            }
        ],
    }
