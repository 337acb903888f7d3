# The two tables whose rows 0007 moved into the outbox.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("signers", "0007_move_emails_to_outbox"),
    ]

    operations = [
        migrations.DeleteModel(name="Delivery"),
        migrations.DeleteModel(name="SignatureEmail"),
    ]
