from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import AdSlot


class AdSlotViewSet(SnippetViewSet):
    model = AdSlot
    icon = "image"
    menu_label = "Ads"
    menu_order = 300
    add_to_admin_menu = True
    list_display = ["name", "placement", "kind", "starts_at", "ends_at", "weight", "enabled"]
    list_filter = ["placement", "kind", "enabled"]
    search_fields = ["name"]


register_snippet(AdSlotViewSet)
