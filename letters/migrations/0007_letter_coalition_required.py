"""Letters' coalition becomes required, once 0006 gave every letter one.

A migration of its own: PostgreSQL does not alter a table in the transaction
that has just updated its rows under deferred foreign keys.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0006_coalition_per_letter"),
    ]

    operations = [
        migrations.AlterField(
            model_name="letter",
            name="coalition",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="letters",
                to="coalition.coalition",
                verbose_name="coalition",
            ),
        ),
    ]
