from django.forms.renderers import TemplatesSetting


class SiteFormRenderer(TemplatesSetting):
    """Every form, the site's and allauth's, renders through templates/forms/."""

    form_template_name = "forms/div.html"
    field_template_name = "forms/field.html"
