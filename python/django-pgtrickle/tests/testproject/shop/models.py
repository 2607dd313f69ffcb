from django.db import models

from django_pgtrickle.models import StreamTableModel


class Order(models.Model):
    customer = models.CharField(max_length=50)
    amount = models.IntegerField()

    class Meta:
        db_table = "orders"


class OrderTotals(StreamTableModel):
    # Only the columns to read; the GROUP BY key is the primary key.
    customer = models.CharField(max_length=50, primary_key=True)
    total = models.BigIntegerField()

    class Meta(StreamTableModel.Meta):
        db_table = "order_totals"
