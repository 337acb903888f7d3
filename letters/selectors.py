from django.db.models import QuerySet

from coalition.models import User
from letters.models import Letter


def letter_list_for_user(*, user: User) -> QuerySet[Letter]:
    return Letter.objects.for_user(user).order_by("-updated_at")
