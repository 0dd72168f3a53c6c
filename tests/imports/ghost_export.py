"""A Ghost 5 JSON export and members CSV for the tests, in the layout of
Ghost's own exports (`db[0].meta` and `db[0].data` with one array per
table, `__GHOST_URL__` in place of the site's address, mobiledoc and Lexical
as JSON strings). The content is written for these tests.
"""

import csv
import io
import json

from PIL import Image

T = "2024-05-02T09:30:00.000Z"

HARBOUR_HTML = (
    "<p>The tide tables were wrong all spring, and the harbour master knew it.</p>"
    '<figure class="kg-card kg-image-card kg-card-hascaption">'
    '<img src="__GHOST_URL__/content/images/2024/05/harbour.png" class="kg-image" alt="Boats at low tide">'
    "<figcaption>Low water at Saltmere, April.</figcaption></figure>"
    "<h2>What the gauges said</h2>"
    '<p>Read the <a href="__GHOST_URL__/the-river-ledger/">river ledger</a> first, '
    'or <a href="https://example.org/tides">the national tables</a>.</p>'
    "<blockquote><p>Nobody checks a gauge that has never been wrong.</p></blockquote>"
    "<ul><li>Three gauges</li><li>Two harbours</li></ul>"
    "<hr>"
    '<pre><code class="language-python">print("high water")</code></pre>'
    '<figure class="kg-card kg-embed-card"><iframe src="https://www.youtube.com/embed/abc123"></iframe></figure>'
    "<table><tr><td>Gauge</td><td>Error</td></tr><tr><td>North</td><td>12 cm</td></tr></table>"
)

RIVER_LEXICAL = {
    "root": {
        "type": "root",
        "version": 1,
        "children": [
            {
                "type": "paragraph",
                "version": 1,
                "children": [
                    {
                        "type": "text",
                        "version": 1,
                        "text": "The ledger begins in 1911, ",
                        "format": 0,
                    },
                    {"type": "text", "version": 1, "text": "in pencil", "format": 2},
                    {"type": "text", "version": 1, "text": ".", "format": 0},
                ],
            },
            {"type": "paywall", "version": 1},
            {
                "type": "heading",
                "tag": "h3",
                "version": 1,
                "children": [
                    {"type": "text", "version": 1, "text": "The missing decade", "format": 0}
                ],
            },
            {
                "type": "paragraph",
                "version": 1,
                "children": [
                    {
                        "type": "text",
                        "version": 1,
                        "text": "Only subscribers read the river ledger's secret.",
                        "format": 1,
                    }
                ],
            },
            {
                "type": "image",
                "version": 1,
                "src": "__GHOST_URL__/content/images/2024/05/ledger.png",
                "alt": "A ledger page",
                "caption": "The 1923 page",
                "credit": "",
            },
        ],
    }
}

ORCHARD_MOBILEDOC = {
    "version": "0.3.1",
    "atoms": [],
    "markups": [["strong"]],
    "cards": [["paywall", {}], ["hr", {}]],
    "sections": [
        [1, "p", [[0, [], 0, "Apples first, then the argument about apples."]]],
        [1, "p", [[0, [0], 1, "Members"], [0, [], 0, " read past this line."]]],
        [10, 0],
        [1, "p", [[0, [], 0, "The orchard cooperative's members-only accounts."]]],
        [10, 1],
    ],
}

TIERS_HTML = (
    "<p>An open opening paragraph about the ferry.</p><!--members-only-->"
    "<p>Supporter-only timetable analysis.</p>"
)
UNSAFE_HTML = (
    '<p onclick="steal()">Clean words.</p><script>alert("x")</script>'
    '<p><a href="javascript:alert(1)">bad link</a></p>'
    '<iframe src="javascript:alert(2)"></iframe>'
)


def post(
    id,
    title,
    slug,
    *,
    html=None,
    lexical=None,
    mobiledoc=None,
    status="published",
    visibility="public",
    published_at=T,
    excerpt=None,
    feature_image=None,
    type="post",
):
    return {
        "id": id,
        "uuid": f"uuid-{id}",
        "title": title,
        "slug": slug,
        "mobiledoc": json.dumps(mobiledoc) if mobiledoc else None,
        "lexical": json.dumps(lexical) if lexical else None,
        "html": html,
        "comment_id": id,
        "plaintext": None,
        "feature_image": feature_image,
        "featured": 0,
        "type": type,
        "status": status,
        "locale": None,
        "visibility": visibility,
        "email_recipient_filter": "none",
        "created_at": T,
        "updated_at": T,
        "published_at": published_at,
        "custom_excerpt": excerpt,
        "codeinjection_head": None,
        "codeinjection_foot": None,
        "custom_template": None,
        "canonical_url": None,
        "newsletter_id": None,
    }


def build_export(
    *,
    stripe_price_id="price_supporter_month",
    customer_id="cus_paid",
    subscription_id="sub_paid",
    version="5.96.0",
    extra_posts=(),
    harbour_title=None,
):
    posts = [
        post(
            "p1",
            harbour_title or "The Harbour Master's Tide Tables",
            "harbour-master",
            html=HARBOUR_HTML,
            excerpt="Why the spring tides caught a town out.",
            feature_image="__GHOST_URL__/content/images/2024/05/harbour.png",
        ),
        post(
            "p2", "The River Ledger", "the-river-ledger", lexical=RIVER_LEXICAL, visibility="paid"
        ),
        post(
            "p3",
            "Orchard Accounts",
            "orchard-accounts",
            mobiledoc=ORCHARD_MOBILEDOC,
            visibility="members",
        ),
        post("p4", "Ferry Timetables", "ferry-timetables", html=TIERS_HTML, visibility="tiers"),
        post(
            "p5",
            "Unfinished Draft on Ferries",
            "draft-ferries",
            html="<p>Not yet.</p>",
            status="draft",
            published_at=None,
        ),
        post(
            "p6",
            "Scheduled Weir Story",
            "weir-story",
            html="<p>Coming soon.</p>",
            status="scheduled",
            published_at="2031-03-01T08:00:00.000Z",
        ),
        post("p7", "About us", "about", html="<p>We are a magazine.</p>", type="page"),
        post("p8", "A Post With Bad Markup", "bad-markup", html=UNSAFE_HTML),
        *extra_posts,
    ]
    data = {
        "posts": posts,
        "posts_meta": [
            {
                "id": "pm1",
                "post_id": "p1",
                "meta_title": "Tide tables, wrong all spring",
                "meta_description": "The harbour master's errors, gauge by gauge.",
                "feature_image_alt": "Boats at low tide",
                "feature_image_caption": "<span>Saltmere harbour</span>",
            }
        ],
        "users": [
            {
                "id": "u1",
                "name": "Mara Quill",
                "slug": "mara",
                "email": "mara@saltmere.example",
                "profile_image": "__GHOST_URL__/content/images/2024/05/mara.png",
                "bio": "Covers the coast.",
                "status": "active",
            },
            {
                "id": "u2",
                "name": "Tomasz Reed",
                "slug": "tomasz",
                "email": "tomasz@saltmere.example",
                "profile_image": None,
                "bio": "",
                "status": "active",
            },
        ],
        "roles": [{"id": "r1", "name": "Administrator"}, {"id": "r2", "name": "Contributor"}],
        "roles_users": [
            {"id": "ru1", "role_id": "r1", "user_id": "u1"},
            {"id": "ru2", "role_id": "r2", "user_id": "u2"},
        ],
        "posts_authors": [
            {"id": "pa1", "post_id": "p1", "author_id": "u2", "sort_order": 0},
            {"id": "pa2", "post_id": "p1", "author_id": "u1", "sort_order": 1},
            *[
                {"id": f"pa{p}", "post_id": p, "author_id": "u1", "sort_order": 0}
                for p in ("p2", "p3", "p4", "p5", "p6", "p8")
            ],
            *[
                {"id": f"pa{p['id']}", "post_id": p["id"], "author_id": "u1", "sort_order": 0}
                for p in extra_posts
            ],
        ],
        "tags": [
            {"id": "t1", "name": "Coast", "slug": "coast", "description": "The shoreline desk."},
            {"id": "t2", "name": "Tides", "slug": "tides", "description": None},
            {"id": "t3", "name": "#import-batch", "slug": "hash-import-batch", "description": None},
        ],
        "posts_tags": [
            {"id": "pt1", "post_id": "p1", "tag_id": "t1", "sort_order": 0},
            {"id": "pt2", "post_id": "p1", "tag_id": "t2", "sort_order": 1},
            {"id": "pt3", "post_id": "p1", "tag_id": "t3", "sort_order": 2},
            {"id": "pt4", "post_id": "p2", "tag_id": "t1", "sort_order": 0},
        ],
        "newsletters": [
            {"id": "n1", "name": "The Saltmere Weekly", "slug": "weekly", "status": "active"},
            {"id": "n2", "name": "Storm Warnings", "slug": "storms", "status": "active"},
        ],
        "products": [
            {"id": "tier-free", "name": "Free", "slug": "free", "type": "free", "active": 1},
            {
                "id": "tier-supporter",
                "name": "Supporter",
                "slug": "supporter",
                "type": "paid",
                "active": 1,
                "monthly_price_id": "sp1",
                "yearly_price_id": None,
                "currency": "usd",
                "monthly_price": 800,
            },
        ],
        "stripe_prices": [
            {
                "id": "sp1",
                "stripe_price_id": stripe_price_id,
                "stripe_product_id": "prod_supporter",
                "active": 1,
                "currency": "usd",
                "amount": 800,
                "type": "recurring",
                "interval": "month",
            },
        ],
        "stripe_products": [
            {"id": "spr1", "product_id": "tier-supporter", "stripe_product_id": "prod_supporter"}
        ],
        "posts_products": [
            {"id": "pp1", "post_id": "p4", "product_id": "tier-supporter", "sort_order": 0}
        ],
        "members": [
            {
                "id": "m1",
                "email": "Free.Reader@Example.com",
                "name": "Fenna Free",
                "status": "free",
                "note": "Met at the fair",
                "created_at": "2023-01-15T10:00:00.000Z",
            },
            {
                "id": "m2",
                "email": "paid@example.com",
                "name": "Pavel Paid",
                "status": "paid",
                "note": None,
                "created_at": "2023-02-01T10:00:00.000Z",
            },
            {
                "id": "m3",
                "email": "comp@example.com",
                "name": "Cora Comp",
                "status": "comped",
                "note": None,
                "created_at": "2023-03-01T10:00:00.000Z",
            },
            {
                "id": "m4",
                "email": "not-an-email",
                "name": "Broken",
                "status": "free",
                "note": None,
                "created_at": T,
            },
            {
                "id": "m5",
                "email": "free.reader@example.com",
                "name": "Dup",
                "status": "free",
                "note": None,
                "created_at": T,
            },
        ],
        "labels": [
            {"id": "l1", "name": "VIP", "slug": "vip"},
            {"id": "l2", "name": "Fair 2023", "slug": "fair"},
        ],
        "members_labels": [
            {"id": "ml1", "member_id": "m1", "label_id": "l1"},
            {"id": "ml2", "member_id": "m1", "label_id": "l2"},
        ],
        "members_newsletters": [
            {"id": "mn1", "member_id": "m1", "newsletter_id": "n2"},
            {"id": "mn2", "member_id": "m2", "newsletter_id": "n1"},
        ],
        "members_stripe_customers": [{"id": "msc1", "member_id": "m2", "customer_id": customer_id}],
        "members_stripe_customers_subscriptions": [
            {
                "id": "mscs1",
                "customer_id": customer_id,
                "subscription_id": subscription_id,
                "stripe_price_id": stripe_price_id,
                "status": "active",
                "plan_id": stripe_price_id,
            }
        ],
        "members_products": [
            {
                "id": "mp1",
                "member_id": "m3",
                "product_id": "tier-supporter",
                "expiry_at": "2030-06-30T00:00:00.000Z",
            }
        ],
    }
    return {"db": [{"meta": {"exported_on": 1714642200000, "version": version}, "data": data}]}


def write_export(path, **kwargs):
    path.write_text(json.dumps(build_export(**kwargs)))
    return path


def write_images(folder):
    """The site's content/images folder, with a picture per name the export uses."""
    target = folder / "content" / "images" / "2024" / "05"
    target.mkdir(parents=True)
    for name, colour in (
        ("harbour.png", (20, 60, 120)),
        ("ledger.png", (200, 180, 120)),
        ("mara.png", (90, 40, 40)),
    ):
        Image.new("RGB", (40, 30), colour).save(target / name)
    return folder


def members_csv(rows):
    columns = [
        "id",
        "email",
        "name",
        "note",
        "subscribed_to_emails",
        "complimentary_plan",
        "stripe_customer_id",
        "created_at",
        "deleted_at",
        "labels",
        "tiers",
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return out.getvalue()
