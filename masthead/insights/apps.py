from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "masthead.insights"
    label = "insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from masthead.billing import actions as billing_actions
        from masthead.serving import pagecache, variants

        from . import counting

        # Article pages served through Masthead's variants report each view;
        # anonymous pages answered from the page cache never reach Django,
        # so the cache reports each hit with the page's headers instead.
        if counting.article_viewed not in variants.ARTICLE_VIEW_HOOKS:
            variants.ARTICLE_VIEW_HOOKS.append(counting.article_viewed)
        if counting.count_cached_page not in pagecache.HIT_HOOKS:
            pagecache.HIT_HOOKS.append(counting.count_cached_page)
        # A checkout begun from an article's paywall counts for the article.
        if counting.checkout_fulfilled not in billing_actions.CHECKOUT_FULFILLED_HOOKS:
            billing_actions.CHECKOUT_FULFILLED_HOOKS.append(counting.checkout_fulfilled)
