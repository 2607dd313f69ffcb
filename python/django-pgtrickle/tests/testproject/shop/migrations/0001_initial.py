from django.contrib.postgres.operations import CreateExtension
from django.db import migrations, models

from django_pgtrickle.operations import CreateStreamTable


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        CreateExtension("pg_trickle"),
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("customer", models.CharField(max_length=50)),
                ("amount", models.IntegerField()),
            ],
            options={"db_table": "orders"},
        ),
        migrations.CreateModel(
            name="OrderTotals",
            fields=[
                ("customer", models.CharField(max_length=50, primary_key=True, serialize=False)),
                ("total", models.BigIntegerField()),
            ],
            options={"db_table": "order_totals", "managed": False},
        ),
        CreateStreamTable(
            "order_totals",
            query="SELECT customer, sum(amount) AS total FROM orders GROUP BY customer",
            schedule="1m",
        ),
    ]
