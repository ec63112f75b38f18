/** httpbin's landing page, reduced to the endpoints this implementation serves. */
export const HTTPBIN_INDEX_HTML = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>httpbin.org</title></head>
<body>
<h1>httpbin(1): HTTP Request &amp; Response Service</h1>
<p>The Weft sample's implementation of httpbin for local meshes.</p>
<h2>ENDPOINTS</h2>
<ul>
<li><a href="/"><code>/</code></a> This page.</li>
<li><a href="/ip"><code>/ip</code></a> Returns origin IP.</li>
<li><a href="/uuid"><code>/uuid</code></a> Returns a UUID4.</li>
<li><a href="/user-agent"><code>/user-agent</code></a> Returns user-agent.</li>
<li><a href="/headers"><code>/headers</code></a> Returns header dict.</li>
<li><a href="/hostname"><code>/hostname</code></a> Returns the server's host name.</li>
<li><a href="/get"><code>/get</code></a> Returns GET data.</li>
<li><code>/post</code> Returns POST data.</li>
<li><code>/put</code>, <code>/patch</code>, <code>/delete</code> Return PUT, PATCH, DELETE data.</li>
<li><a href="/anything"><code>/anything[/:path]</code></a> Returns request data, any method.</li>
<li><a href="/status/418"><code>/status/:code[,:code…]</code></a> Returns the given HTTP status code, or one of them at random.</li>
<li><a href="/delay/1"><code>/delay/:n</code></a> Delays responding for min(n, 10) seconds.</li>
<li><a href="/response-headers?Server=httpbin"><code>/response-headers?key=val</code></a> Returns given response headers.</li>
</ul>
</body>
</html>
`;
