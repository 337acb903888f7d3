from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from coalition.types import AuthedHttpRequest
from letters import selectors
from letters.models import Letter


@login_required
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    letters = selectors.letter_list_for_user(user=request.user)
    return render(request, "letters/letter_dashboard.html", {"letters": letters})


@login_required
def detail(request: AuthedHttpRequest, slug: str) -> HttpResponse:
    letter = get_object_or_404(Letter.objects.for_user(request.user), slug=slug)
    return render(request, "letters/letter_detail.html", {"letter": letter})
