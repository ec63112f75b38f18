/*
 * Weft's socket addon: the socket (and memory) calls Node does not expose.
 *   originalDst(fd)                        SO_ORIGINAL_DST (original_dst.c)
 *   listenReusePort(ip, port, backlog)     a SO_REUSEPORT listening socket (reuse_port.c)
 *   setKeepAlive(fd, idle, interval, n)    TCP keepalive with all three parameters (keepalive.c)
 *   releaseStartupPages()                  Node's own code pages out of RSS (startup_pages.c)
 * No global state: it loads in every worker thread of a process.
 */
#include "addon.h"

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

NAPI_MODULE_INIT() {
  export_function(env, exports, "originalDst", original_dst);
  export_function(env, exports, "listenReusePort", listen_reuse_port);
  export_function(env, exports, "setKeepAlive", set_keep_alive);
  export_function(env, exports, "releaseStartupPages", release_startup_pages);
  return exports;
}
