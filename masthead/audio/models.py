"""What narration keeps: each article's narration, the segment cache, the
pronunciation lexicon, issue episodes and private podcast feed tokens."""

import hashlib
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from wagtail.admin.panels import FieldPanel, HelpPanel
from wagtail.search import index


class NarrationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Narration(models.Model):
    """The audio of one article: the full reading and the teaser reading.

    `revision` is the revision asked for; `narrated_revision` the one the
    files hold. The files keep serving while a newer revision is narrated,
    and are replaced only once the new ones are complete.
    """

    article = models.OneToOneField(
        "newsroom.ArticlePage", on_delete=models.CASCADE, related_name="narration"
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    narrated_revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=NarrationStatus.choices, default=NarrationStatus.QUEUED
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    engine = models.CharField(max_length=100, blank=True)
    voice = models.CharField(max_length=100, blank=True)
    audio_file = models.CharField(max_length=255, blank=True, help_text="In private storage.")
    audio_size = models.PositiveBigIntegerField(default=0)
    duration = models.FloatField(default=0, help_text="Seconds.")
    teaser_file = models.CharField(max_length=255, blank=True)
    teaser_size = models.PositiveBigIntegerField(default=0)
    teaser_duration = models.FloatField(default=0)
    # {"parts": [[kind, paragraph index or null, start, end], ...],
    #  "paragraphs": {"<index>": [start, end]}}, seconds.
    timings = models.JSONField(default=dict, blank=True)
    teaser_timings = models.JSONField(default=dict, blank=True)
    segment_count = models.PositiveIntegerField(default=0)
    synthesised_count = models.PositiveIntegerField(
        default=0, help_text="Segments the last run had to synthesise (the rest were cached)."
    )
    segment_keys = models.JSONField(default=list, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self):
        return f"Narration of {self.article_id} ({self.get_status_display()})"

    @property
    def has_audio(self):
        return bool(self.audio_file)

    @property
    def has_teaser(self):
        return bool(self.teaser_file)

    @property
    def is_current(self):
        """Whether the audio is of the revision last asked for."""
        return self.has_audio and self.narrated_revision_id == self.revision_id


class Segment(models.Model):
    """One synthesised sentence, cached by what was said and who said it."""

    key = models.CharField(max_length=64, unique=True)
    engine = models.CharField(max_length=100)
    text = models.TextField()
    sample_rate = models.PositiveIntegerField()
    samples = models.PositiveIntegerField()
    file = models.CharField(max_length=255, help_text="16-bit PCM in private storage.")
    # Milliseconds from the first sample to each spoken word; null when the
    # engine gave none (or the segment was made before they were kept).
    words = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.text[:60]

    @staticmethod
    def key_for(text, engine_identity):
        return hashlib.sha256(f"{engine_identity}\n{text}".encode()).hexdigest()


class Pronunciation(index.Indexed, models.Model):
    """How to say a word or phrase the voice gets wrong.

    A respelling ("Nguyen" -> "Win") works with every engine; IPA is passed to
    Piper as "[[ ... ]]" phonemes and wins over the respelling there.
    """

    phrase = models.CharField(max_length=200, unique=True, help_text="As it appears in articles.")
    respelling = models.CharField(
        max_length=200, blank=True, help_text='Plain letters, e.g. "Win" for "Nguyen".'
    )
    ipa = models.CharField(
        "IPA",
        max_length=200,
        blank=True,
        help_text='Phonemes in IPA (espeak style), e.g. "wˈɪn". Used by the Piper voice.',
    )
    match_case = models.BooleanField(
        default=False, help_text="Only replace the phrase when the capitals match."
    )
    sample = models.CharField(
        max_length=300,
        blank=True,
        help_text="A sentence to try it in; defaults to the phrase on its own.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    panels = [
        FieldPanel("phrase"),
        FieldPanel("respelling"),
        FieldPanel("ipa"),
        FieldPanel("match_case"),
        FieldPanel("sample"),
        HelpPanel(template="audio/admin/listen_panel.html", heading="Listen"),
    ]
    search_fields = [index.SearchField("phrase"), index.AutocompleteField("phrase")]

    class Meta:
        ordering = ["phrase"]

    def __str__(self):
        return self.phrase

    def clean(self):
        if not (self.respelling or self.ipa):
            raise ValidationError("Give a respelling, IPA, or both.")
        if re.search(r"\[\[|\]\]", self.ipa + self.respelling):
            raise ValidationError("Leave out the [[ ]]: they are added when the voice reads it.")


class IssueEpisode(models.Model):
    """An issue's narrations joined into one podcast episode with chapters."""

    issue = models.OneToOneField(
        "issues.IssuePage", on_delete=models.CASCADE, related_name="audio_episode"
    )
    audio_file = models.CharField(max_length=255, blank=True)
    audio_size = models.PositiveBigIntegerField(default=0)
    duration = models.FloatField(default=0)
    # [{"title", "start", "end", "article": id, "url"}], seconds.
    chapters = models.JSONField(default=list, blank=True)
    source_key = models.CharField(
        max_length=64, blank=True, help_text="Hash of the narrations it was built from."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Episode of issue {self.issue_id}"


class PodcastFeedToken(models.Model):
    """A subscriber's private podcast feed address, stored as a hash.

    Rotating revokes the old one; a revoked token's feed answers 410 Gone.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="podcast_feed_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_podcast_token_per_user",
            )
        ]

    def __str__(self):
        return f"Podcast feed of {self.user_id}"

    @staticmethod
    def hash(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def is_active(self):
        return self.revoked_at is None
