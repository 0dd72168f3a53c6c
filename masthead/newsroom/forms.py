"""The article editor's form: its access level says what "the section's
default" is for the section the article is in."""

from wagtail.admin.forms import WagtailAdminPageForm


class ArticleForm(WagtailAdminPageForm):
    def __init__(self, *args, parent_page=None, **kwargs):
        super().__init__(*args, parent_page=parent_page, **kwargs)
        from .models import AccessLevel, SectionPage

        field = self.fields.get("access_level")
        if field is None:
            return
        section = parent_page.specific if parent_page is not None else None
        if isinstance(section, SectionPage):
            default = AccessLevel(section.default_access_level).label
            blank = f"As the section ({section.title}): {default}"
        else:
            blank = "As the section"
        field.choices = [("", blank), *AccessLevel.choices]
