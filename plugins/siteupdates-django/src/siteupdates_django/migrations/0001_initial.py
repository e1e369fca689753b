"""The unmanaged model carrying the provider permission: no table is created."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    """Declare ProviderAccess (unmanaged) so that its permission exists."""

    initial = True
    dependencies = []  # noqa: RUF012
    # Django's Migration reads these class attributes by design.
    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="ProviderAccess",
            fields=[
                (
                    "id",
                    models.AutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "verbose_name": "provider access",
                "managed": False,
                "default_permissions": (),
                "permissions": [("provider", "Can use the hosting provider's update pages")],
            },
        ),
    ]
