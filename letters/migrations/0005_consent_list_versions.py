from django.db import migrations, models


def delete_unfingerprinted_pdfs(apps, schema_editor):
    # Cached renderings without the fingerprint of their signer list cannot be
    # shown to match the list: drop them (files too); the next download renders
    # the current one.
    LetterPdf = apps.get_model("letters", "LetterPdf")
    for pdf in LetterPdf.objects.all():
        pdf.file.delete(save=False)
        pdf.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0004_letter_pdf"),
    ]

    operations = [
        migrations.AddField(
            model_name="letter",
            name="signers_removed_version",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="letterpdf",
            name="signers_digest",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(delete_unfingerprinted_pdfs, migrations.RunPython.noop),
    ]
