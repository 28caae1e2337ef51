# Offers published before this existed accepted every brand: their versions keep doing so
# (the column is added as false), while new versions default to verified brands only.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0004_offer_measured_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="offerversion",
            name="verified_brands_only",
            field=models.BooleanField(default=False),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="offerversion",
            name="verified_brands_only",
            field=models.BooleanField(
                default=True,
                help_text="Only brands that verified their legal name and domain may request.",
            ),
        ),
    ]
