from django.conf import settings
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]

if settings.HAS_HEALTH_CHECK:
    from health_check.views import HealthCheckView

    urlpatterns.append(
        path(
            "health/",
            HealthCheckView.as_view(
                checks=["health_check.checks.Database", "django_pgtrickle.health.PgTrickle"]
            ),
        )
    )
