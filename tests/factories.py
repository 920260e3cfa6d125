"""factory-boy factories for the domain; channel accounts go through the service so secrets are encrypted."""
from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from omnidesk.channel_accounts.services import channel_account_create
from omnidesk.tenants.models import Membership, Municipality, Role


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Municipality

    slug = factory.Sequence(lambda n: f"gemeente-{n}")
    name = factory.Sequence(lambda n: f"Gemeente {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    first_name = factory.Faker("first_name", locale="nl_NL")
    last_name = factory.Faker("last_name", locale="nl_NL")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def persist(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    municipality = factory.SubFactory(MunicipalityFactory)
    role = Role.AGENT


def sandbox_account(municipality: Municipality, *, name: str = "Sandbox", **config: object):
    return channel_account_create(
        municipality=municipality, plugin_key="sandbox", name=name, config={"signing_secret": "s3cret-signing", **config}
    )
