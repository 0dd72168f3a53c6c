"""Ad slots the publisher manages (house ads or trusted HTML), shown only to
readers without a paid subscription. Whether to show them is
`access.shows_ads`; this app only stores and renders them
(`{% ad_slot "article_inline" %}`). Depends on access and newsroom (images)."""
