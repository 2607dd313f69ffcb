from django.db import migrations

from django_pgtrickle.operations import AlterStreamTable


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        AlterStreamTable("order_totals", schedule="5m", previous_schedule="1m"),
    ]
