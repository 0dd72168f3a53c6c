from django.urls import path

from . import feeds, views

app_name = "newsroom"

urlpatterns = [
    path("authors/", views.author_index, name="author_index"),
    path("authors/<slug:slug>/", views.author_detail, name="author"),
    path("feeds/rss/", feeds.ArticleFeed(), name="rss"),
    path("feeds/atom/", feeds.ArticleAtomFeed(), name="atom"),
    path("feeds/sections/<slug:slug>/rss/", feeds.SectionFeed(), name="section_rss"),
    path("feeds/sections/<slug:slug>/atom/", feeds.SectionAtomFeed(), name="section_atom"),
    path("feeds/authors/<slug:slug>/rss/", feeds.AuthorFeed(), name="author_rss"),
    path("feeds/authors/<slug:slug>/atom/", feeds.AuthorAtomFeed(), name="author_atom"),
]
