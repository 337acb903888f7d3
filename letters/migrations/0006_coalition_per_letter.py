"""Every letter belongs to a coalition.

Each letter made before coalitions gets one of its own, named after it, whose
members are the letter's team: owner stays owner, editor becomes organiser,
viewer stays viewer. The team's rows stay as they are, so no access changes.
"""

import django.db.models.deletion
from django.db import migrations, models

COALITION_ROLE = {"owner": "owner", "editor": "organiser", "viewer": "viewer"}


def give_each_letter_a_coalition(apps, schema_editor):
    Letter = apps.get_model("letters", "Letter")
    Membership = apps.get_model("letters", "Membership")
    Coalition = apps.get_model("coalition", "Coalition")
    CoalitionMember = apps.get_model("coalition", "CoalitionMember")
    taken = set(Coalition.objects.values_list("slug", flat=True))
    for letter in Letter.objects.filter(coalition__isnull=True).order_by("id"):
        slug, n = letter.slug, 1
        while slug in taken:
            n += 1
            suffix = f"-{n}"
            slug = letter.slug[: 80 - len(suffix)] + suffix
        taken.add(slug)
        coalition = Coalition.objects.create(name=letter.title[:200], slug=slug)
        CoalitionMember.objects.bulk_create(
            CoalitionMember(
                coalition=coalition,
                user_id=member.user_id,
                role=COALITION_ROLE.get(member.role, "viewer"),
            )
            for member in Membership.objects.filter(letter=letter).order_by("id")
        )
        Letter.objects.filter(pk=letter.pk).update(coalition=coalition)


class Migration(migrations.Migration):
    dependencies = [
        ("coalition", "0002_coalitions"),
        ("letters", "0005_consent_list_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="letter",
            name="coalition",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="letters",
                to="coalition.coalition",
                verbose_name="coalition",
            ),
        ),
        # Going back, the column goes and the coalitions stay (with no letters).
        migrations.RunPython(
            give_each_letter_a_coalition, migrations.RunPython.noop, elidable=False
        ),
    ]
