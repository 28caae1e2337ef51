from django.db import migrations


def recompute(apps, schema_editor):
    """Legal names are now compared as registry.models.name_key compares every name
    (punctuation, word order and look-alike letters aside): store each claim's new key."""
    from registry.models import legal_name_key

    claim_model = apps.get_model("registry", "BrandVerification")
    for claim in claim_model.objects.all():
        claim.legal_name_key = legal_name_key(claim.legal_name)
        claim.save(update_fields=["legal_name_key"])


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_merge_identity_verification")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
