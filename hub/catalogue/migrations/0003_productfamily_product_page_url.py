from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalogue', '0002_clms_portfolio'),
    ]

    operations = [
        migrations.AddField(
            model_name='productfamily',
            name='product_page_url',
            field=models.URLField(blank=True, help_text="the producer's official page of the product (documents, data access)", max_length=300),
        ),
    ]
