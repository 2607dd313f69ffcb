from django.contrib import admin

from django_pgtrickle.admin import StreamTableAdmin

from .models import OrderTotals

admin.site.register(OrderTotals, StreamTableAdmin)
