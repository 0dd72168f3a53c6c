from datetime import date

from django import forms

from masthead.core.converters import MAX_ID


class VacationHoldForm(forms.Form):
    first_issue_date = forms.TypedChoiceField(
        label="First issue to pause", coerce=date.fromisoformat
    )
    last_issue_date = forms.TypedChoiceField(label="Last issue to pause", coerce=date.fromisoformat)

    def __init__(self, *args, issue_dates=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(day.isoformat(), day.strftime("%B %-d, %Y")) for day in issue_dates]
        self.fields["first_issue_date"].choices = choices
        self.fields["last_issue_date"].choices = choices


class CancelHoldForm(forms.Form):
    """The cancel button of one of the member's holds."""

    cancel = forms.IntegerField(min_value=1, max_value=MAX_ID)
