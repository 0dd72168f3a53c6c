"""Issues of the magazine (volume, number, cover, ordered contents), the
publishing schedule and the archive. Depends on newsroom.

`issues.actions.publish_issue` is the one step that publishes an issue with
everything that comes with it; it calls editions, printing and mailings, so
those may depend on issues' models but never on its actions.
"""
