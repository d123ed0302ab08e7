"""factory-boy factories for PartnerHub's models."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from migrations_app import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "partnerhub")

    @factory.post_generation
    def role(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if extracted:
            group, _ = Group.objects.get_or_create(name=extracted)
            self.groups.set([group])
        self.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Customer

    tenant_id = factory.LazyFunction(uuid.uuid4)
    company_name = factory.Sequence(lambda n: f"Customer {n:04d} Ltd")
    domain = factory.LazyAttribute(
        lambda o: o.company_name.lower().replace(" ", "") + ".onmicrosoft.com"
    )
    relationship_to_partner = "reseller"
    synced_at = factory.LazyFunction(timezone.now)


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Offer

    offer_id = factory.LazyFunction(lambda: str(uuid.uuid4()).upper())
    name = factory.Sequence(lambda n: f"Offer {n}")
    product_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    is_available_for_purchase = True


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Subscription

    customer = factory.SubFactory(CustomerFactory)
    subscription_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    offer_id = factory.LazyFunction(lambda: str(uuid.uuid4()).upper())
    offer_name = "Office 365 E3"
    quantity = 10
    unit_type = "Licenses"
    status = "active"
    auto_renew_enabled = True
    commitment_end_date = factory.LazyFunction(
        lambda: timezone.now() + timedelta(days=90)
    )


class CustomerUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CustomerUser

    customer = factory.SubFactory(CustomerFactory)
    user_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    display_name = factory.Sequence(lambda n: f"User {n}")
    user_principal_name = factory.LazyAttribute(
        lambda o: o.display_name.lower().replace(" ", ".") + "@example.com"
    )
    usage_location = "US"
    state = "active"
