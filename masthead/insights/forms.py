from django import forms

from masthead.billing.models import Plan

from .members import KINDS, SORTS, SOURCES, STATUSES
from .models import Label


def _choices(mapping):
    return [("", "Any"), *mapping.items()]


class MemberFilterForm(forms.Form):
    q = forms.CharField(label="Email or name", required=False)
    status = forms.ChoiceField(choices=_choices(STATUSES), required=False)
    plan = forms.ModelChoiceField(Plan.objects.all(), required=False, empty_label="Any")
    kind = forms.ChoiceField(label="Print or digital", choices=_choices(KINDS), required=False)
    source = forms.ChoiceField(choices=_choices(SOURCES), required=False)
    joined_from = forms.DateField(label="Joined from", required=False)
    joined_to = forms.DateField(label="Joined to", required=False)
    newsletter = forms.ChoiceField(
        choices=[("", "Any"), ("yes", "Subscribed"), ("no", "Not subscribed")], required=False
    )
    label = forms.ModelChoiceField(Label.objects.all(), required=False, empty_label="Any")
    sort = forms.ChoiceField(choices=[(key, key) for key in SORTS], required=False)


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("add_label", "Add label"),
            ("remove_label", "Remove label"),
            ("unsubscribe_newsletter", "Unsubscribe from the newsletter"),
        ]
    )
    label = forms.CharField(required=False, max_length=60)


class PeriodForm(forms.Form):
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The period must start before it ends.")
        return data
