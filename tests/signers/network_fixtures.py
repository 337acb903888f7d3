"""A coalition with partners who signed its published letters, for the network
map, review and public page tests."""

from coalition.models import CoalitionMember
from letters.models import Letter
from signers.models import Partner, Signature
from tests.factories import (
    CoalitionFactory,
    CoalitionMemberFactory,
    PartnerFactory,
    TagFactory,
    UserFactory,
)
from tests.letters.public_fixtures import bump_signers_version, published_letter, sign


def coalition_with_member(role=CoalitionMember.Role.ORGANISER, **kwargs):
    coalition = CoalitionFactory(**kwargs)
    member = UserFactory()
    CoalitionMemberFactory(coalition=coalition, user=member, role=role)
    return coalition, member


def partner_signs(partner: Partner, letter: Letter, **kwargs) -> Signature:
    """A confirmed signature of ``letter`` linked to ``partner`` (as a confirmed
    match leaves it)."""
    signature = sign(
        letter,
        kwargs.pop("name", partner.name),
        partner=partner,
        email=kwargs.pop("email", f"p{partner.pk}-l{letter.pk}@partner.example.org"),
        **kwargs,
    )
    bump_signers_version(letter)
    return signature


def small_network(coalition):
    """Two letters: A, B and C signed the first; C and D the second; E nothing.
    A and B carry the tag "housing"; D is a union."""
    housing = TagFactory(coalition=coalition, name="housing")
    a, b, c, d, e = (
        PartnerFactory(coalition=coalition, name=name, reach=reach)
        for name, reach in (
            ("Alder Trust", 5000),
            ("Birch Network", 200),
            ("Cedar Union", None),
            ("Dogwood Workers", 40),
            ("Elm Friends", 10),
        )
    )
    d.kind = Partner.Kind.UNION
    d.save()
    a.tags.add(housing)
    b.tags.add(housing)
    first = published_letter(coalition=coalition, title="Safe streets")
    second = published_letter(coalition=coalition, title="Clean air")
    for partner in (a, b, c):
        partner_signs(partner, first)
    for partner in (c, d):
        partner_signs(partner, second)
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "first": first, "second": second}
