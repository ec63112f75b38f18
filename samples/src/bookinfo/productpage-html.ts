import type { Product } from "./catalog.js";

/** What productpage learnt from its upstreams for one page. */
export interface PageModel {
  product: Product | undefined;
  user: string | undefined;
  detailsStatus: number;
  details: Record<string, unknown>;
  reviewsStatus: number;
  reviews: ReviewsBody;
}

export interface ReviewsBody {
  error?: string;
  podname?: string;
  clustername?: string;
  reviews?: { reviewer?: string; text?: string; rating?: { stars?: number; color?: string; error?: string } }[];
}

export function escapeHtml(value: unknown): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function head(): string {
  return `<!DOCTYPE html>
<html>
<head>
<title>Simple Bookstore App</title>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="static/bookinfo.css">
</head>`;
}

function navbar(user: string | undefined): string {
  const right = user
    ? `<p class="navbar-text navbar-right"><i class="glyphicon glyphicon-user" aria-hidden="true"></i><span style="padding-left: 5px;">${escapeHtml(user)} ( <a href="logout">sign out</a> )</span></p>`
    : `<details class="navbar-right login">
<summary class="btn btn-default navbar-btn">Sign in</summary>
<form method="post" action="login" name="login_form">
<p><input type="text" class="span3" name="username" id="username" placeholder="User Name"></p>
<p><input type="password" class="span3" name="passwd" placeholder="Password"></p>
<p><button type="submit" class="btn btn-primary">Sign in</button></p>
</form>
</details>`;
  return `<nav class="navbar navbar-inverse navbar-static-top">
<div class="container">
<div class="navbar-header"><a class="navbar-brand" href="#">BookInfo Sample</a></div>
${right}
</div>
</nav>`;
}

function detailsColumn(m: PageModel): string {
  if (m.detailsStatus !== 200) {
    const err = m.details.error ? `\n<p>${escapeHtml(m.details.error)}</p>` : "";
    return `<h4 class="text-center text-primary">Error fetching product details!</h4>${err}`;
  }
  const d = m.details;
  return `<h4 class="text-center text-primary">Book Details</h4>
<dl>
<dt>Type:</dt>${escapeHtml(d.type)}
<dt>Pages:</dt>${escapeHtml(d.pages)}
<dt>Publisher:</dt>${escapeHtml(d.publisher)}
<dt>Language:</dt>${escapeHtml(d.language)}
<dt>ISBN-10:</dt>${escapeHtml(d["ISBN-10"])}
<dt>ISBN-13:</dt>${escapeHtml(d["ISBN-13"])}
</dl>`;
}

function stars(rating: { stars?: number; color?: string; error?: string } | undefined): string {
  if (!rating) return "";
  if (rating.stars) {
    const n = Math.max(0, Math.min(5, Math.trunc(rating.stars)));
    const full = '<span class="glyphicon glyphicon-star"></span>\n'.repeat(n);
    const empty = '<span class="glyphicon glyphicon-star-empty"></span>\n'.repeat(5 - n);
    return `\n<font color="${escapeHtml(rating.color)}">\n<!-- full stars: -->\n${full}<!-- empty stars: -->\n${empty}</font>`;
  }
  if (rating.error) return `\n<p><i>${escapeHtml(rating.error)}</i></p>`;
  return "";
}

function reviewsColumn(m: PageModel): string {
  if (m.reviewsStatus !== 200) {
    const err = m.reviews.error ? `\n<p>${escapeHtml(m.reviews.error)}</p>` : "";
    return `<h4 class="text-center text-primary">Error fetching product reviews!</h4>${err}`;
  }
  const items = (m.reviews.reviews ?? [])
    .map((r) => `<blockquote>\n<p>${escapeHtml(r.text)}</p>\n<small>${escapeHtml(r.reviewer)}</small>${stars(r.rating)}\n</blockquote>`)
    .join("\n");
  const cluster = m.reviews.clustername && m.reviews.clustername !== "null" ? ` on cluster <u>${escapeHtml(m.reviews.clustername)}</u>` : "";
  return `<h4 class="text-center text-primary">Book Reviews</h4>
${items}
<dl>
<dt>Reviews served by:</dt>
<u>${escapeHtml(m.reviews.podname)}</u>${cluster}
</dl>`;
}

/** The product page, with the structure and texts of Istio's productpage.html. */
export function renderProductPage(m: PageModel): string {
  const title = m.product
    ? `<h3 class="text-center text-primary">${escapeHtml(m.product.title)}</h3>
<p>Summary: ${m.product.descriptionHtml}</p>`
    : `<h3 class="text-center text-primary">Product not found</h3>`;
  return `${head()}
<body>
${navbar(m.user)}
<div class="container-fluid">
<div class="row">
<div class="col-md-12">
${title}
</div>
</div>
<div class="row">
<div class="col-md-6">
${detailsColumn(m)}
</div>
<div class="col-md-6">
${reviewsColumn(m)}
</div>
</div>
</div>
</body>
</html>
`;
}

/** The landing page: links to the product page as a normal and a test user, as index.html. */
export function renderIndexPage(): string {
  return `${head()}
<body>
<div class="container">
<h3 class="text-center text-primary">Hello! This is a simple bookstore application consisting of three services as shown below</h3>
<table class="table table-condensed table-bordered table-hover">
<tr><th>name</th><td>http://details:9080</td></tr>
<tr><th>endpoint</th><td>details</td></tr>
<tr><th>children</th><td>details (http://details:9080), reviews (http://reviews:9080) → ratings (http://ratings:9080)</td></tr>
</table>
<p><h4>Click on one of the links below to auto generate a request to the backend as a real user or a tester</h4></p>
<p><a href="/productpage?u=normal">Normal user</a></p>
<p><a href="/productpage?u=test">Test user</a></p>
</div>
</body>
</html>
`;
}

/**
 * The page's stylesheet, served at /static/bookinfo.css. The original ships
 * Bootstrap 3; this is the handful of rules the page uses, with the star glyphs
 * as Unicode characters.
 */
export const BOOKINFO_CSS = `body { font-family: "Helvetica Neue", Helvetica, Arial, sans-serif; margin: 0; color: #333; }
.navbar { background: #222; color: #9d9d9d; padding: 8px 15px; display: flex; justify-content: space-between; }
.navbar .container { display: flex; justify-content: space-between; width: 100%; align-items: center; }
.navbar-brand { color: #9d9d9d; text-decoration: none; font-size: 18px; }
.navbar a { color: #fff; }
.login summary { cursor: pointer; list-style: none; color: #fff; }
.login form { position: absolute; right: 15px; background: #fff; color: #333; padding: 10px; border: 1px solid #ccc; }
.container-fluid { padding: 0 15px; }
.row { display: flex; flex-wrap: wrap; }
.col-md-12 { width: 100%; }
.col-md-6 { width: 50%; box-sizing: border-box; padding: 0 15px; }
.text-center { text-align: center; }
.text-primary { color: #337ab7; }
blockquote { border-left: 5px solid #eee; margin: 0 0 20px; padding: 10px 20px; }
blockquote small { display: block; color: #777; }
.glyphicon-star::before { content: "\\2605"; }
.glyphicon-star-empty::before { content: "\\2606"; }
.glyphicon-user::before { content: "\\1F464"; }
`;
