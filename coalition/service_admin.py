"""Admin pages for rows the services own: staff change them only through a
service (which checks the change, logs it and keeps caches in step), from an
admin action or a small form, never by editing a field."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext as _

from coalition.types import AuthedHttpRequest


class ServiceOwnedAdmin(admin.ModelAdmin):
    """Every field read-only but ``editable_fields``; a field named in
    ``shown_as`` is shown by that display method instead. Rows are made by the
    site, not here.

    ``form_class`` (with ``form_path`` and ``form_title``) is a small form for
    one row, at ``<pk>/<form_path>/``, named ``<app>_<model>_<form_path>``;
    its valid POST calls ``form_apply``, a service.
    """

    editable_fields: Sequence[str] = ()
    shown_as: Mapping[str, str] = {}
    form_class: type[forms.Form] | None = None
    form_path = ""
    form_title: str | Promise = ""

    def form_apply(
        self, request: AuthedHttpRequest, obj: Any, data: dict[str, Any]
    ) -> object:
        raise NotImplementedError

    def get_urls(self) -> list[URLPattern]:
        if self.form_class is None:
            return super().get_urls()
        view = self.admin_site.admin_view(self.service_form_view)
        return [
            path(f"<int:pk>/{self.form_path}/", view, name=self._form_name()),
            *super().get_urls(),
        ]

    def _form_name(self) -> str:
        opts = self.model._meta
        return f"{opts.app_label}_{opts.model_name}_{self.form_path.replace('-', '_')}"

    def with_form_link(self, obj: Model, value: str, text: str) -> str:
        """``value``, and a link to the row's form."""
        url = reverse(
            f"admin:{self._form_name()}",
            args=[obj.pk],
            current_app=self.admin_site.name,
        )
        return format_html('{} (<a href="{}">{}</a>)', value, url, text)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            self.shown_as.get(field.name, field.name)
            for field in self.model._meta.fields
            if field.name not in self.editable_fields
            and not field.auto_created
            # Derived by the database from the other fields (markup, keys).
            and not getattr(field, "generated", False)
        ]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.shown_as)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def act_on_each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        act: Callable[[Any], object],
        done: Callable[[int], str],
    ) -> None:
        """``act`` on each selected row; ``done(n)`` says how many it changed
        (in a plural form); a row it refuses is named with the reason."""
        count = 0
        for obj in queryset:
            try:
                changed = act(obj)
            except ValidationError as exc:
                self.message_user(
                    request, f"{obj}: {' '.join(exc.messages)}", messages.WARNING
                )
            else:
                count += changed is not False
        self.message_user(request, done(count), messages.SUCCESS)

    def service_form_view(self, request: AuthedHttpRequest, pk: int) -> HttpResponse:
        """The form; what the service refuses (ValidationError) is shown on it."""
        obj = get_object_or_404(self.model, pk=pk)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        if self.form_class is None:
            raise Http404
        initial = {
            name: getattr(obj, name, None) for name in self.form_class.base_fields
        }
        form = self.form_class(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                self.form_apply(request, obj, form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(request, _("Saved."), messages.SUCCESS)
                return HttpResponseRedirect(self._change_url(obj))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": self.form_title,
            "form": form,
            "change_url": self._change_url(obj),
        }
        return TemplateResponse(request, "admin/service_form.html", context)

    def _change_url(self, obj: Model) -> str:
        opts = self.model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}_change"
        return reverse(name, args=[obj.pk], current_app=self.admin_site.name)
