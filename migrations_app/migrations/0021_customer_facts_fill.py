"""Fill the customer facts of 0018 for the customers already stored.

The facts follow the app's one definition of "retired", which needs the whole,
current schema and changes with the app. A migration must keep working when app
code changes, so this one imports none: applying it is the mark, and the app's
`post_migrate` receiver (`migrations_app.domain.customer_facts`) fills the facts
once every migration of the run has been applied.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("migrations_app", "0020_merge")]

    operations = []
