# Change requests get a status, the revision that took them and a reply; the
# organisers' opt-out of signing notices; confirmations indexed by time.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('letters', '0007_letter_coalition_required'),
        ('signers', '0009_merge_outbox_and_partners'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SigningNoticeOptOut',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddField(
            model_name='changerequest',
            name='accepted_revision',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='accepted_change_requests', to='letters.revision'),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='decline_reason',
            field=models.TextField(blank=True, verbose_name='reason for declining'),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='replied_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='replied_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='reply',
            field=models.TextField(blank=True, verbose_name='reply'),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='resolved_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='changerequest',
            name='status',
            field=models.CharField(choices=[('open', 'Open'), ('accepted', 'Accepted'), ('declined', 'Declined'), ('answered', 'Answered')], db_index=True, default='open', max_length=10, verbose_name='status'),
        ),
        migrations.AddIndex(
            model_name='signature',
            index=models.Index(fields=['confirmed_at'], name='signature_confirmed_at'),
        ),
        migrations.AddConstraint(
            model_name='changerequest',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'accepted'), _negated=True), ('accepted_revision__isnull', False), _connector='OR'), name='change_request_accepted_has_revision'),
        ),
        migrations.AddField(
            model_name='signingnoticeoptout',
            name='letter',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signing_notice_opt_outs', to='letters.letter'),
        ),
        migrations.AddField(
            model_name='signingnoticeoptout',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='signingnoticeoptout',
            constraint=models.UniqueConstraint(fields=('user', 'letter'), name='signing_notice_opt_out_unique'),
        ),
    ]
