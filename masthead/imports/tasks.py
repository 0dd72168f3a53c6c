from django_tasks import task


@task()
def run_import(run_id):
    """Write a confirmed import (see actions.carry_out_import)."""
    from .actions import carry_out_import

    run = carry_out_import(run_id)
    return run.status if run else None


@task()
def index_imported_pages(page_ids):
    """What an import held back for its articles: the search and reference
    indexes, and the teaser that search shows readers without access."""
    from masthead.access.search import refresh_teaser
    from masthead.core.indexing import index_objects
    from masthead.newsroom.models import ArticlePage

    articles = list(ArticlePage.objects.filter(pk__in=page_ids))
    index_objects(articles)
    for article in articles:
        if article.live:
            refresh_teaser(article)
