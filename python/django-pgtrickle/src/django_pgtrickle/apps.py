from django.apps import AppConfig


class PgTrickleConfig(AppConfig):
    name = "django_pgtrickle"
    label = "django_pgtrickle"
    verbose_name = "pg_trickle"
