from django.urls import path

from . import views

app_name = "audio"

urlpatterns = [
    path("narration/<id:article_id>/full.mp3", views.full_audio, name="full"),
    path("narration/<id:article_id>/opening.mp3", views.teaser_audio, name="teaser"),
    path("issue/<id:issue_id>/audio.mp3", views.issue_audio, name="issue"),
    path("podcast/", views.podcast_feed, name="podcast_feed"),
    path("podcast/free.xml", views.public_feed, name="public_feed"),
    path("podcast/artwork.png", views.artwork, name="artwork"),
    path("podcast/feed/<str:token>.xml", views.private_feed, name="private_feed"),
    path("podcast/episode/<str:signed>.mp3", views.enclosure, name="enclosure"),
    path("podcast/chapters/<str:signed>.json", views.episode_chapters, name="chapters"),
]
